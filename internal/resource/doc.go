// Package resource presents stored records as the API's resources: what a
// record says by itself, without the indexes of a catalog snapshot. The
// services add what a snapshot knows (a framework's counts and groups, a
// control's group and accepted spellings); the audit trail and the change
// feed use these as they are.
package resource
