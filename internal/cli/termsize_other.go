//go:build !unix

package cli

// termWidth is stderr's width from $COLUMNS, 0 when unknown.
func termWidth(getenv func(string) string) int { return columnsEnv(getenv) }
