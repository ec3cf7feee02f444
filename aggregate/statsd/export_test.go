package statsd

// AppendNumber is appendNumber, for the tests that compare it with
// JavaScript's own number formatting.
var AppendNumber = appendNumber
