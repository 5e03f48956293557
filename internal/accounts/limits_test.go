package accounts

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStoredProfileIsCapped(t *testing.T) {
	big := strings.Repeat("x", 400<<10)
	claims := map[string]any{"sub": "ada", "name": big, "groups": []any{"a", "b"}, "email": "ada@example.com"}
	for i := range 40 {
		claims[fmt.Sprintf("c%02d", i)] = strings.Repeat("y", 900)
	}
	id := newIdentity(SignIn{Provider: "corp", Profile: Profile{Subject: "ada", Name: big, Email: big + "@example.com", AvatarURL: "https://x/" + big, Claims: claims}}, time.Unix(1.8e9, 0))
	if len(id.Name) > MaxNameBytes+len("…") || !strings.HasSuffix(id.Name, "…") {
		t.Errorf("name kept %d bytes", len(id.Name))
	}
	if id.Email != "" || id.AvatarURL != "" {
		t.Errorf("an oversized email (%d bytes) or avatar URL (%d bytes) was kept", len(id.Email), len(id.AvatarURL))
	}
	if _, ok := id.Claims["name"]; ok {
		t.Error("the 400 KiB name claim was stored")
	}
	if id.Claims["sub"] != "ada" || id.Claims["email"] != "ada@example.com" || id.Claims["groups"] == nil {
		t.Errorf("small claims were lost: %v", id.Claims["sub"])
	}
	total := 0
	for k, v := range id.Claims {
		s, _ := v.(string)
		total += len(k) + len(s)
	}
	if total > MaxClaimsBytes {
		t.Errorf("stored claims total %d bytes, cap %d", total, MaxClaimsBytes)
	}
	refresh(&id, SignIn{Profile: Profile{Name: big, Claims: map[string]any{"name": big}}}, time.Unix(1.8e9, 0))
	if len(id.Name) > MaxNameBytes+len("…") || id.Claims["name"] != nil {
		t.Error("a later sign-in stored the oversized name")
	}
}
