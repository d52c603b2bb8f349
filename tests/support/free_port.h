/* free_port: a loopback TCP port nobody listens on right now, for a test that must
 * tell a server (Prometheus, a Go service) which port to take: bound and released,
 * good enough on loopback. */
#ifndef TESTS_FREE_PORT_H
#define TESTS_FREE_PORT_H

/* Returns the port; fails the test when no socket can be bound. */
int free_port(void);

#endif
