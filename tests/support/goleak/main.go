// goleak: a small Go service for loadlab's tests of a service it has never seen. It
// serves GET /api/item, Prometheus text metrics the way client_golang names them
// (go_goroutines, go_threads, process_*), and net/http/pprof, all on one port, and
// has no /readyz. GET /leak/on switches on a goroutine leak: from then on a request to
// /api/item leaves a goroutine blocked for good in leakyWorker, at most one every 10ms
// and at most 3000 in all, so a test's run is bounded. Standard library only.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"sync/atomic"
	"time"
)

const (
	leakEvery = 10 * time.Millisecond
	leakCap   = 3000
)

var (
	leaking  atomic.Bool
	leaked   atomic.Int64
	lastLeak atomic.Int64
	never    = make(chan struct{})
)

// leakyWorker waits for a reply that never comes: the leak's culprit.
func leakyWorker(reply <-chan struct{}) {
	<-reply
}

func maybeLeak() {
	if !leaking.Load() || leaked.Load() >= leakCap {
		return
	}
	now := time.Now().UnixNano()
	last := lastLeak.Load()
	if now-last < int64(leakEvery) || !lastLeak.CompareAndSwap(last, now) {
		return
	}
	leaked.Add(1)
	go leakyWorker(never)
}

// procStat: resident bytes and CPU seconds of this process, from /proc.
func procStat() (rss float64, cpu float64) {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseFloat(f[1], 64)
			rss = pages * float64(os.Getpagesize())
		}
	}
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 13 {
				ut, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				cpu = (ut + st) / 100
			}
		}
	}
	return
}

func metrics(w http.ResponseWriter, r *http.Request) {
	rss, cpu := procStat()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP go_goroutines Number of goroutines that currently exist.\n# TYPE go_goroutines gauge\n"+
		"go_goroutines %d\n", runtime.NumGoroutine())
	fmt.Fprintf(w, "# HELP go_threads Number of OS threads created.\n# TYPE go_threads gauge\n"+
		"go_threads %d\n", pprof.Lookup("threadcreate").Count())
	fmt.Fprintf(w, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"+
		"# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %g\n", rss)
	fmt.Fprintf(w, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"+
		"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n", cpu)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address")
	flag.Parse()
	runtime.SetBlockProfileRate(0)
	http.HandleFunc("/api/item", func(w http.ResponseWriter, r *http.Request) {
		maybeLeak()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":1,"name":"kettle"}` + "\n"))
	})
	http.HandleFunc("/leak/on", func(w http.ResponseWriter, r *http.Request) {
		leaking.Store(true)
		fmt.Fprintln(w, "leak on")
	})
	http.HandleFunc("/metrics", metrics)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		os.Exit(0)
	}()
	fmt.Printf("listening public=%s debug=%s\n", ln.Addr(), ln.Addr())
	http.Serve(ln, nil)
}
