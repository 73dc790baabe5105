package twilio_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
)

// BenchmarkTwilioSend measures one Send against the fake on loopback with
// no added latency: the cost of twilio-go, our transport and HTTP/1.1
// keep-alive, not Twilio's.
func BenchmarkTwilioSend(b *testing.B) {
	srv := twiliotest.NewServer(b, twiliotest.WithoutRecording())
	s := newSender(b, srv)
	m := outgoing(patient)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(srv.Connections()), "conns")
}

// BenchmarkTwilioSendParallel is BenchmarkTwilioSend from GOMAXPROCS
// goroutines sharing one Sender.
func BenchmarkTwilioSendParallel(b *testing.B) {
	sendParallel(b, 1)
}

// BenchmarkTwilioSendConcurrency32 is BenchmarkTwilioSend from 32
// goroutines sharing one Sender, whatever GOMAXPROCS: the conns metric
// shows whether keep-alive connections are reused (about 32) or churned
// (hundreds); see transport.go.
func BenchmarkTwilioSendConcurrency32(b *testing.B) {
	srv := sendParallel(b, (32+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0))
	b.ReportMetric(float64(srv.Connections()), "conns")
}

// sendParallel sends from parallelism×GOMAXPROCS goroutines sharing one
// Sender and returns the fake they sent to.
func sendParallel(b *testing.B, parallelism int) *twiliotest.Server {
	srv := twiliotest.NewServer(b, twiliotest.WithoutRecording())
	s := newSender(b, srv)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.RunParallel(func(pb *testing.PB) {
		m := outgoing(patient)
		for pb.Next() {
			if _, err := s.Send(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	return srv
}
