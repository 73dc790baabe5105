package sqlite

// SelectDue is ClaimDue's query, for the benchmark that runs it alone.
var SelectDue = selectDue
