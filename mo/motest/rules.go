// Package motest checks implementations of the memory-object protocol in
// package mo, in the spirit of testing/fstest: any pager and any kernel are
// held to one set of named scenarios, one per rule of the Mach manual pages.
//
// Pager side: TestPager drives a pager (an mo.Object) with a scripted kernel
// (KernelControl, one per object per simulated kernel) through the pager
// scenarios and checks every answer; TestDefaultPager does the same for a
// default pager's Create and backing-store management.
//
// Kernel side: TestKernel drives a kernel with a scripted pager (Pager),
// which answers inside the call, later from its own goroutine, out of order,
// twice, with errors, or never. The kernel under test is reached through the
// small Kernel and Region harness interfaces; package modelkernel is a model
// kernel, with a page cache and no MMU, that passes them.
//
// A scenario that finds a broken rule reports a *Violation whose text names
// the rule (the Rule* constants), so a failing test says what was broken, not
// only where.
//
// Pager scenarios (PagerScenarios): InitOncePerKernelWithItsPageSize,
// InitErrorDropsControl, DataRequestAnsweredOnce, BadInputRefused,
// DataReturnOnlyDirtyOrPrecious, PageMayBeRequestedAgainAfterDataReturn,
// SynchronizeIsCompleted, NoCallAfterTerminate, DestroyIsFollowedByTerminate,
// FlushWithWriteLockBeforeDestroyReturnsDirtyData. Default-pager scenarios:
// CreateActsAsInit, BackingStoreDeleteReturnCodes. Kernel scenarios
// (KernelScenarios): InitOncePerKernelWithItsPageSize,
// InitErrorDropsControl, ReadyAnsweredLater, AnsweredInsideCall,
// AnsweredLater, AnsweredOutOfOrder, AnsweredTwiceIsRefused,
// AnsweredWithError, NeverAnsweredBlocksOnlyItsPage, WrongSizeIsRefused,
// DataReturnOnlyDirtyOrPrecious, PageMayBeRequestedAgainAfterDataReturn,
// LockRequestReturnsAndReplies, WriteToLockedPageSendsDataUnlock,
// RepliesAreSent, SynchronizeIsCompleted, DestroyIsFollowedByTerminate,
// FlushWithWriteLockBeforeDestroyReturnsDirtyData, NoCallAfterTerminate.
// RunCallScript turns fuzz input into calls on a pager.
//
// Locking: a scripted kernel's or pager's mutex is a leaf, never held while
// calling the other side, since either side may call back inside a call.
//
// Nothing waits on time to make progress: scenarios synchronise on channels
// and on Quiescer. A deadline (Config.Timeout) only turns a missing answer
// into a violation instead of a hang.
package motest

import "fmt"

// Rules, as the scenarios name them in violations.
const (
	RuleInitOncePerKernel         = "init: one init per kernel that maps the object, each with its own control and page size"
	RuleInitErrorDropsControl     = "init: an error answer drops that kernel's control"
	RulePageMultiple              = "init: every call involving a kernel uses sizes that are integral multiples of its page size"
	RuleReadyBeforeRequests       = "init: no data_request before the pager's ready"
	RuleAnswerEachRequest         = "data_request: each requested page is answered exactly once, with the object's data"
	RuleDataReturnOnlyDirtyOrPrec = "data_return: only dirty or precious pages are returned; clean non-precious pages are dropped silently"
	RuleDataReturnLent            = "data_return: the data is lent for the duration of the call only"
	RuleRequestAgainAfterReturn   = "data_return: the kernel may request the page again at once, even before the pager is done"
	RuleSeqnoOrder                = "seqno: calls on one object and control are numbered from 0 without gaps"
	RuleDestroyThenTerminate      = "destroy: the kernel answers destroy with terminate"
	RuleFlushBeforeDestroy        = "destroy: lock_request with should_flush and a write lock before destroy returns the dirty data"
	RuleNoCallAfterTerminate      = "terminate: after terminate no call for the object reaches the pager, and the pager makes none on that control"
	RuleBadInputRefused           = "bad input: a Mach return code with its meaning, and nothing changed"
	RuleAnswersRefused            = "kernel: an answer nobody asked for, after terminate, or of the wrong size is refused and changes no data"
	RuleLockRequest               = "lock_request: the kernel returns and flushes as asked, and replies with lock_completed"
	RuleSynchronize               = "synchronize: answered with synchronize_completed for the range"
	RuleBackingStoreDelete        = "backing_store_delete: KERN_SUCCESS (pages moved first), KERN_INVALID_ARGUMENT (no such store, or pages cannot move; nothing moved), KERN_FAILURE (not supported)"
	RuleCreateActsAsInit          = "create: the default pager's create stands for init and is followed by ready"
)

// Violation is a broken rule found by a scenario.
type Violation struct {
	Scenario string
	Rule     string
	Detail   string
}

func (v *Violation) Error() string {
	return fmt.Sprintf("%s: broke rule %q: %s", v.Scenario, v.Rule, v.Detail)
}

// Quiescer is implemented by a pager or kernel that does work on its own
// goroutines. Quiesce returns once everything started so far has finished
// (answers sent, goroutines idle), so that a scenario can check that nothing
// more arrives. An implementation with goroutines that does not provide it
// may escape the checks for late calls.
type Quiescer interface {
	Quiesce()
}
