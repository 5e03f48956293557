// Command hello is the floor for bench/token.sh: the cost of starting a Go
// process that prints one line.
package main

import "os"

func main() { _, _ = os.Stdout.WriteString("hello\n") }
