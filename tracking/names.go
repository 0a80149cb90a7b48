package tracking

import (
	"fmt"
	"math/rand/v2"
)

// Word lists for run names, in the adjective-noun-number style MLflow uses
// for runs created without a name ("bold-otter-417").
var (
	runNameAdjectives = []string{
		"agile", "amber", "ample", "bold", "brave", "bright", "brisk", "calm",
		"clever", "cosmic", "crisp", "daring", "dapper", "eager", "fearless",
		"fleet", "gentle", "gifted", "glad", "golden", "grand", "happy", "hardy",
		"honest", "humble", "jolly", "keen", "kind", "lively", "lucky", "merry",
		"mighty", "nimble", "noble", "patient", "placid", "polite", "proud",
		"quick", "quiet", "rapid", "rustic", "serene", "sharp", "shiny", "silent",
		"sleek", "smart", "steady", "stellar", "sunny", "swift", "tidy", "upbeat",
		"valiant", "vivid", "warm", "wise", "witty", "zealous",
	}
	runNameNouns = []string{
		"ant", "badger", "bat", "bear", "bee", "bison", "boar", "carp", "cat",
		"colt", "crab", "crane", "crow", "deer", "dove", "eagle", "eel", "elk",
		"falcon", "finch", "fox", "frog", "gnu", "goat", "goose", "hare", "hawk",
		"heron", "horse", "ibis", "jay", "koala", "lark", "lemur", "lion", "lynx",
		"mole", "moose", "moth", "newt", "otter", "owl", "panda", "perch", "pig",
		"puma", "quail", "ram", "raven", "seal", "shark", "slug", "snail", "squid",
		"stork", "swan", "tern", "toad", "trout", "wolf", "wren", "yak",
	}
)

// RandomRunName returns a name for a run created without one.
func RandomRunName() string {
	return fmt.Sprintf("%s-%s-%d",
		runNameAdjectives[rand.IntN(len(runNameAdjectives))],
		runNameNouns[rand.IntN(len(runNameNouns))],
		rand.IntN(1000))
}
