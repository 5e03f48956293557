package setup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// member is one key of a JSON object, in file order.
type member struct {
	key   string
	value json.RawMessage
}

// decodeObject reads a JSON object keeping its keys' order and each
// value's bytes.
func decodeObject(b []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("not a JSON object")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return ms, nil
}

// encodeObject writes members the way docker writes config.json
// (json.MarshalIndent with tabs).
func encodeObject(ms []member) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	for i, m := range ms {
		if i > 0 {
			b.WriteString(",")
		}
		k, _ := json.Marshal(m.key)
		b.WriteString("\n\t")
		b.Write(k)
		b.WriteString(": ")
		if err := json.Indent(&b, m.value, "\t", "\t"); err != nil {
			return nil, err
		}
	}
	if len(ms) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// allStrings reports whether every member's value is a JSON string, as
// docker's map of registry to helper name must be.
func allStrings(ms []member) bool {
	for _, m := range ms {
		var s string
		if json.Unmarshal(m.value, &s) != nil {
			return false
		}
	}
	return true
}

// DockerConfig sets credHelpers[host] = helper in a docker config.json
// (helper "authcli" makes docker run docker-credential-authcli). Other keys
// keep their order and values. An empty file becomes {"credHelpers": …}.
func DockerConfig(data []byte, host, helper string) ([]byte, Change, error) {
	var top []member
	if len(bytes.TrimSpace(data)) > 0 {
		var err error
		if top, err = decodeObject(data); err != nil {
			return nil, Unchanged, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	// docker reads config.json with encoding/json, which matches keys
	// case-insensitively: "CredHelpers" is the same setting, and two
	// spellings of it make a file docker itself cannot read.
	at, key := -1, "credHelpers"
	for i, m := range top {
		if strings.EqualFold(m.key, "credHelpers") {
			if at >= 0 {
				return nil, Unchanged, fmt.Errorf("%w: credHelpers is set twice", ErrInvalid)
			}
			at, key = i, m.key
		}
	}
	var helpers []member
	if at >= 0 && string(bytes.TrimSpace(top[at].value)) != "null" {
		var err error
		if helpers, err = decodeObject(top[at].value); err != nil || !allStrings(helpers) {
			return nil, Unchanged, fmt.Errorf("%w: credHelpers is not an object of strings", ErrInvalid)
		}
	}
	value, _ := json.Marshal(helper)
	change := Added
	set := false
	for i, m := range helpers {
		if m.key != host {
			continue
		}
		var cur string
		if json.Unmarshal(m.value, &cur) == nil && cur == helper {
			return data, Unchanged, nil
		}
		helpers[i].value, change, set = value, Updated, true
	}
	if !set {
		helpers = append(helpers, member{host, value})
	}
	inner, err := encodeObject(helpers)
	if err != nil {
		return nil, Unchanged, err
	}
	m := member{key, bytes.TrimSuffix(inner, []byte("\n"))}
	if at >= 0 {
		top[at] = m
	} else {
		top = append(top, m)
	}
	out, err := encodeObject(top)
	if err != nil {
		return nil, Unchanged, err
	}
	return out, change, nil
}
