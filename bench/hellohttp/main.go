// Command hellohttp is bench/hello with net/http linked in: the floor of
// any Go program that can make an HTTPS request, for bench/token.sh. The
// request is never made; the package and its initialisers are the point.
package main

import (
	"net/http"
	"os"
)

func main() {
	if len(os.Args) > 1 { // never in the benchmark; keeps the client linked
		_, _ = http.Get(os.Args[1])
	}
	_, _ = os.Stdout.WriteString("hello\n")
}
