package tui

import (
	"encoding/base64"
	"fmt"
	"io"
)

// writeClipboard asks the terminal to put text on the system clipboard with
// an OSC 52 escape sequence, written in one call so it cannot interleave
// with a frame. The text is not drawn anywhere; terminals that do not allow
// OSC 52 ignore the sequence.
func writeClipboard(w io.Writer, text string) error {
	seq := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(text)) + "\a"
	if _, err := io.WriteString(w, seq); err != nil {
		return fmt.Errorf("write to the terminal: %w", err)
	}
	return nil
}
