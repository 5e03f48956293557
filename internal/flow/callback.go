package flow

import (
	"errors"
	"fmt"
	"net/url"
)

// callbackParams are the authorization response parameters of RFC 6749
// §4.1.2 and §4.1.2.1, plus RFC 9207's iss.
type callbackParams struct {
	State            string
	Code             string
	Error            string
	ErrorDescription string
	ErrorURI         string
	Iss              string
	// form is the whole response, URL-encoded (a string keeps the struct
	// comparable), for providers that send more than RFC 6749 defines:
	// Apple's first-time user field. The listener sets it.
	form string
}

// errBadCallback marks a request to the listener that is not a well-formed
// authorization response; the listener answers it and keeps waiting.
var errBadCallback = errors.New("not an authorization response")

// parseCallback reads an authorization response from the query (GET) or the
// form body (response_mode=form_post). A parameter given twice is refused:
// RFC 6749 §3.1 forbids repeats, and tolerating them would let a crafted URL
// smuggle a second state or code past a check that reads the first.
func parseCallback(v url.Values) (callbackParams, error) {
	var p callbackParams
	fields := []struct {
		name string
		dst  *string
	}{
		{"state", &p.State},
		{"code", &p.Code},
		{"error", &p.Error},
		{"error_description", &p.ErrorDescription},
		{"error_uri", &p.ErrorURI},
		{"iss", &p.Iss},
	}
	for _, f := range fields {
		vals := v[f.name]
		switch len(vals) {
		case 0:
		case 1:
			*f.dst = vals[0]
		default:
			return callbackParams{}, fmt.Errorf("%w: parameter %q repeated", errBadCallback, f.name)
		}
	}
	if p.State == "" {
		return callbackParams{}, fmt.Errorf("%w: no state", errBadCallback)
	}
	if p.Code == "" && p.Error == "" {
		return callbackParams{}, fmt.Errorf("%w: neither code nor error", errBadCallback)
	}
	if p.Code != "" && p.Error != "" {
		return callbackParams{}, fmt.Errorf("%w: both code and error", errBadCallback)
	}
	return p, nil
}
