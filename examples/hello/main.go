// Command hello emits one message of each kind through the metlog client
// and exits: a counter, a timer, a log line, an error and a message of its
// own type. It sends to $METLOG_TARGET, or udp://127.0.0.1:5565 — where a
// default `metlog router` listens.
//
//	go run ./examples/hello                         # to a router on this machine
//	METLOG_TARGET=stdout: go run ./examples/hello   # print the messages instead
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/metlog/metlog"
)

func main() {
	c, err := metlog.Dial("", metlog.WithLogger("hello"))
	if err != nil {
		log.Fatal(err)
	}
	c.Incr("page_views")
	c.Time("db_query", func() { time.Sleep(3 * time.Millisecond) })
	c.Info("user logged in", metlog.String("user", "bob"))
	c.Exception(fmt.Errorf("loading settings: %w", os.ErrNotExist))
	c.Metlog("deploy", metlog.String("version", "1.2.3"), metlog.Int("hosts", 3))
	if err := c.Close(); err != nil {
		log.Fatal(err)
	}
	if s := c.Stats(); s.Dropped > 0 || s.Failed > 0 {
		log.Fatal(errors.New("some messages were not sent"), s)
	}
}
