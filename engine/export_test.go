package engine

// FollowCheck is the check ALSStore.Follow runs at start and then every
// interval, for tests to run a known number of checks without a ticker.
var FollowCheck = (*ALSStore).follower
