package termtext_test

import (
	"fmt"

	"github.com/authcli/authcli/internal/termtext"
)

func ExampleLine() {
	// A provider's error_description that tries to clear the screen and
	// reverse what follows.
	fmt.Println(termtext.Line("The user said no\x1b[2J\n\u202Edenied"))
	// Output: The user said no[2J denied
}
