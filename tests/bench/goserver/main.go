// A minimal Go net/http server with net/http/pprof imported: the reference point
// orderd's throughput is compared with in `make bench`. It answers GET /api/products/1
// with a product body of the same size as orderd's.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address")
	flag.Parse()
	body := []byte(`{"id":1,"name":"Red Kettle 1","price_cents":199}` + "\n")
	mux := http.NewServeMux()
	mux.HandleFunc("/api/products/1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-ID", "f432a9b759c82afb")
		w.Write(body)
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening public=%s\n", ln.Addr())
	http.Serve(ln, mux)
}
