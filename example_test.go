package metlog_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/metlog/metlog"
)

// show prints the parts of a message that do not change from run to run.
func show(m *metlog.Message) {
	var fields []string
	for _, f := range m.Fields {
		var vals []string
		for i := range f.Len() {
			vals = append(vals, fmt.Sprint(f.Value(i)))
		}
		fields = append(fields, f.Name+"="+strings.Join(vals, ","))
	}
	fmt.Printf("%s %s %v %q [%s]\n", m.Type, m.Logger, m.Severity, m.Payload, strings.Join(fields, " "))
}

func Example() {
	mem := metlog.NewMemorySender() // in production: metlog.Dial("udp://127.0.0.1:5565")
	c := metlog.New(mem, metlog.WithLogger("myapp"))

	c.Incr("page_views")
	c.Info("user logged in", metlog.String("user", "bob"))
	c.Close() // sends what is queued

	for _, m := range mem.Messages() {
		show(m)
	}
	// Output:
	// counter myapp INFO "1" [name=page_views rate=1]
	// oldstyle myapp INFO "user logged in" [user=bob]
}

func ExampleClient_Incr() {
	mem := metlog.NewMemorySender()
	c := metlog.New(mem, metlog.WithLogger("shop"))
	c.Incr("page_views")
	c.Count("bytes_in", 42, metlog.String("region", "us-west"))
	c.SampledCount("searches", 1, 1) // rate 1: always sent
	c.SampledCount("clicks", 1, 0)   // rate 0: never sent
	c.Gauge("cart_items", 3)
	c.Close()
	for _, m := range mem.Messages() {
		show(m)
	}
	// Output:
	// counter shop INFO "1" [name=page_views rate=1]
	// counter shop INFO "42" [name=bytes_in rate=1 region=us-west]
	// counter shop INFO "1" [name=searches rate=1]
	// gauge shop INFO "3" [name=cart_items]
}

func ExampleClient_Timer() {
	mem := metlog.NewMemorySender()
	c := metlog.New(mem, metlog.WithLogger("shop"))

	query := func() {
		defer c.Timer("db_query", metlog.String("table", "users")).Stop()
		// ... the work being timed ...
	}
	query()
	c.Time("render", func() { /* ... */ })
	c.Timing("upstream", 250*time.Millisecond)
	c.Close()

	for _, m := range mem.Messages() {
		name := m.Field("name").Value(0)
		if name == "upstream" {
			fmt.Println(m.Type, name, m.Payload, "ms")
			continue
		}
		fmt.Println(m.Type, name) // the payload is the measured milliseconds
	}
	// Output:
	// timer db_query
	// timer render
	// timer upstream 250 ms
}

func ExampleClient_Metlog() {
	mem := metlog.NewMemorySender()
	c := metlog.New(mem, metlog.WithLogger("myapp"))
	c.Metlog("custom")
	c.Event("services").Logger("syncstorage").Severity(metlog.Error).Payload("foo").
		Send(metlog.Int("userid", 25), metlog.Int("req_time", 4))
	c.Close()
	for _, m := range mem.Messages() {
		show(m)
	}
	// Output:
	// custom myapp INFO "" []
	// services syncstorage ERROR "foo" [userid=25 req_time=4]
}

func ExampleClient_Info() {
	mem := metlog.NewMemorySender()
	c := metlog.New(mem, metlog.WithLogger("myapp"), metlog.WithSeverityMax(metlog.Info))
	c.Debug("dropped by WithSeverityMax")
	c.Info("user logged in", metlog.String("user", "bob"), metlog.Bool("admin", false))
	c.Warning("disk almost full", metlog.Float("used", 0.93))
	c.Critical("cannot reach the database")
	c.Close()
	for _, m := range mem.Messages() {
		show(m)
	}
	// Output:
	// oldstyle myapp INFO "user logged in" [user=bob admin=false]
	// oldstyle myapp WARNING "disk almost full" [used=0.93]
	// oldstyle myapp CRITICAL "cannot reach the database" []
}

func ExampleClient_Exception() {
	mem := metlog.NewMemorySender()
	c := metlog.New(mem, metlog.WithLogger("myapp"))
	err := fmt.Errorf("load settings: %w", &fs.PathError{Op: "open", Path: "/etc/app", Err: fs.ErrNotExist})
	c.Exception(err, metlog.String("user", "bob"))
	c.Close()
	m := mem.Messages()[0]
	fmt.Println(m.Type, m.Severity, m.Payload)
	fmt.Println(m.Field(metlog.FieldErrorType).Strings)
	fmt.Println(m.Field(metlog.FieldErrorParent).Integers)
	fmt.Println(m.Field(metlog.FieldMechanism).Value(0), m.Field("user").Value(0))
	// Output:
	// exception ERROR load settings: open /etc/app: file does not exist
	// [*fmt.wrapError *fs.PathError *errors.errorString]
	// [-1 0 1]
	// error bob
}

func ExampleClient_Recover() {
	mem := metlog.NewMemorySender()
	c := metlog.New(mem, metlog.WithLogger("worker"))
	func() {
		defer func() { recover() }() // only so that the example goes on
		defer c.Recover()            // reports, then panics again
		panic(errors.New("nightly job failed"))
	}()
	c.Close()
	m := mem.Messages()[0]
	fmt.Println(m.Type, m.Severity, m.Payload, m.Field(metlog.FieldMechanism).Value(0))
	// Output:
	// exception CRITICAL nightly job failed panic
}

func ExampleNewSlogHandler() {
	mem := metlog.NewMemorySender()
	c := metlog.New(mem, metlog.WithLogger("api"))
	log := slog.New(metlog.NewSlogHandler(c, nil))
	log.With("region", "eu").WithGroup("req").Warn("slow request", "path", "/users", "ms", 1200)
	log.Debug("below the handler's level")
	c.Close()
	for _, m := range mem.Messages() {
		show(m)
	}
	// Output:
	// oldstyle api WARNING "slow request" [region=eu req.path=/users req.ms=1200]
}

func ExampleDial() {
	c, err := metlog.Dial("udp://127.0.0.1:5565", metlog.WithLogger("myapp"))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	c.Incr("page_views")
	defer c.Timer("request").Stop()
}

func ExampleClient_Middleware() {
	c, err := metlog.Dial("", metlog.WithLogger("web")) // METLOG_TARGET or udp://127.0.0.1:5565
	if err != nil {
		panic(err)
	}
	defer c.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "user", r.PathValue("id"))
	})
	// Every request sends a timer named "GET /users/{id}" with its status.
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: c.Middleware(nil)(mux)}
	_ = srv // srv.ListenAndServe()
}

func ExampleClient_ReportRuntime() {
	c, err := metlog.Dial("", metlog.WithLogger("web"))
	if err != nil {
		panic(err)
	}
	defer c.Close()
	r := c.ReportRuntime(context.Background(), time.Minute)
	defer r.Stop()
	// ... run the application ...
}

func ExampleLoadConfig() {
	cfg, err := metlog.LoadConfig("testdata/config/full.toml")
	if err != nil {
		panic(err)
	}
	if err := cfg.ApplyEnv(func(string) (string, bool) { return "", false }); err != nil { // os.LookupEnv
		panic(err)
	}
	fmt.Println(cfg.Target, cfg.Logger, *cfg.Severity, cfg.TypeDenylist)
	// Output:
	// tcp://127.0.0.1:5565 myapp NOTICE [spam eggs]
}
