// Command keyringget is the keyring floor for bench/token.sh: one bare
// go-keyring Get, printed, with nothing of authcli around it.
package main

import (
	"fmt"
	"os"

	"github.com/zalando/go-keyring"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: keyringget SERVICE USER")
		os.Exit(2)
	}
	v, err := keyring.Get(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(len(v))
}
