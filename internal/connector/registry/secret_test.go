package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	httpapi "github.com/tandemhub/tandem/internal/connector/http"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/connector/rest"
)

// Whatever a connector's error quotes, Open's never shows the system's
// secrets, and errors.As still finds what it wraps.
func TestOpenHidesSecrets(t *testing.T) {
	cause := errors.New("driver said: bad password hunter2-pw for key tok-123456")
	factories["leaky"] = func(context.Context, string, *config.System, []connector.Table, *slog.Logger) (System, error) {
		return nil, fmt.Errorf("leaky system: %w", cause)
	}
	defer delete(factories, "leaky")
	sys := &config.System{Type: "leaky", DSN: "postgres://u:hunter2-pw@h/db",
		Blocks: map[string]any{"http": &httpapi.Settings{API: rest.API{Auth: &rest.Auth{Bearer: "tok-123456"}}}}}
	_, err := Open(context.Background(), "crm", sys, nil, nil)
	if err == nil {
		t.Fatal("no error")
	}
	if msg := err.Error(); strings.Contains(msg, "hunter2") || strings.Contains(msg, "tok-123456") ||
		msg != "leaky system: driver said: bad password *** for key ***" {
		t.Errorf("Open: %q", msg)
	}
	if !errors.Is(err, cause) {
		t.Error("the masked error lost its cause")
	}
}
