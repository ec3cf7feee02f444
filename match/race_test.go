//go:build race

package match

// raceEnabled reports a -race build, whose sync.Pool drops items at random
// so that regexp matching allocates now and then.
const raceEnabled = true
