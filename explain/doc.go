// Package explain turns the engine's exact contributions into explanations a
// customer can read ("why you're seeing this"), and keeps each answer with its
// explanations under a recommendation id for a limited time.
//
// Every result gets an explanation: personalised items cite the signals that
// moved them most (kind, item, date, purpose, the consent it rests on, and the
// exact contribution), list every signal's contribution beside the score, and
// count the rest; non-personalised items say what they are based on and that
// no personal data was used, and why; every answer lists what was not used,
// per data category, and why. Wording lives in wording.go, nowhere else.
//
// An answer's facts (Answer: items, cited signals, contributions, what was
// not used) are what is stored, sealed, under its recommendation id; its
// rendered form (Rendered: what the API's Recommendation message says, in
// plain Go types) is made from them when the answer is returned and again
// when it is read back, so a stored explanation says what the original said.
// explain imports no transport: the doors translate Rendered into their own
// messages. It also keeps the customers' review cases (reviews.go),
// each with a copy of the answer it is about.
//
// explain must never state a contribution the engine did not compute, never
// cite a signal that was not usable for the request, and never store an
// explanation unsealed or without its retention limit.
package explain
