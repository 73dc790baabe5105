package postgres

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/storetest"
)

// BenchmarkEnrollBatch measures bulk import as store/sqlite's benchmark of
// the same name does: b.N enrollments of 30 messages, in batches of 500,
// treated at t0 with the store's clock just after t0, so the 4 messages
// due within a day are rows and 26 are kept on the enrollment (plan.go),
// as on SQLite. Compare the two with
//
//	go test ./store/sqlite -run '^$' -bench EnrollBatch -benchtime 20000x
//	AFTERCARE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/aftercare_test?sslmode=disable \
//	  go test ./store/postgres -run '^$' -bench EnrollBatch -benchtime 20000x
func BenchmarkEnrollBatch(b *testing.B) {
	const batchSize, perEnrollment = 500, 30
	ctx := context.Background()
	db := openTest(b)
	c := storetest.Clinic("downtown")
	if err := db.CreateClinic(ctx, c); err != nil {
		b.Fatal(err)
	}
	p := storetest.Protocol(c.ID, "botox")
	if err := db.SaveProtocol(ctx, p); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for done := 0; done < b.N; done += batchSize {
		b.StopTimer()
		batch := make([]*aftercare.NewEnrollment, min(batchSize, b.N-done))
		for i := range batch {
			batch[i] = storetest.Enrollment(c.ID, p.ID, done+i, t0, perEnrollment)
		}
		b.StartTimer()
		if _, err := db.EnrollBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "enrollments/s")
	b.ReportMetric(float64(b.N*perEnrollment)/secs, "messages/s")
}
