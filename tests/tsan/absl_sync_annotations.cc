// ThreadSanitizer builds only: tells TSan about Abseil's Mutex, CondVar and Notification,
// and about the reference count of absl::Status's shared representation.
//
// Debian ships Abseil as shared libraries built without -fsanitize=thread, so the
// ABSL_TSAN_MUTEX_* annotations inside absl::Mutex are compiled out and TSan sees no
// happens-before edge through any absl lock: every field guarded by an absl::Mutex would be
// reported as a race. This library is linked ahead of libabsl_synchronization (see the
// SMOLLM_SANITIZE handling in the top-level CMakeLists.txt), so the dynamic linker binds
// every call to these public entry points, ours and gRPC's alike (Abseil's own calls go
// through its PLT too), to the definitions below. Each one reports the lock operation to
// TSan with the same __tsan_mutex_* annotations Abseil uses when it is built with TSan, and
// forwards to the real function (found with dlsym(RTLD_NEXT)).
//
// Abseil's entry points call each other (WaitWithTimeout calls WaitWithDeadline, Notify
// locks its own mutex): only the outermost call on a thread is reported, the one our code
// or gRPC made.
//
// absl::Status: copies of an error share one heap representation, counted by an atomic
// whose last decrement (Status::UnrefNonInlined, in libabsl_status) frees it. The
// decrement is an acquire-release operation, so whatever a thread did with its copy
// happens before the free on whichever thread drops the last reference; uninstrumented,
// that edge is invisible and the free was reported as racing with the other thread's
// earlier read of the message (a Status copied into a call record on one thread and
// dropped on another).
//
// Mutex destruction: TSan treats it as a write to the mutex, which must happen after every
// earlier lock and unlock. gRPC's objects (a TCP endpoint's lock, say) are locked on one
// of its threads and destroyed on another once their count drops to zero; that count is
// gRPC's own, uninstrumented, so TSan cannot see the ordering and reported the destroy as
// a race with the last lock. Destructions called from gRPC's libraries are therefore not
// reported to TSan (the lock still is; the object's memory is released by free, which TSan
// sees); those called from our code (service/, runtime/, tests) stay checked.
//
// Not covered: Notification::HasBeenNotified() is inline (an atomic load in the caller),
// so only WaitForNotification*() count as the acquire that pairs with Notify().
#include <dlfcn.h>
#include <link.h>
#include <sanitizer/tsan_interface.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/base/options.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

#define SMOLLM_STRINGIZE_INNER(x) #x
#define SMOLLM_STRINGIZE(x) SMOLLM_STRINGIZE_INNER(x)

// The real definition of `_ZN[K]4absl<len><inline namespace><rest>` in the next object
// after this one (libabsl_synchronization). Missing symbols end the process: a TSan run
// with silently unannotated locks would report nothing but noise.
void* Real(bool is_const, const char* rest) {
  const char* ns = SMOLLM_STRINGIZE(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  std::string name = std::string(is_const ? "_ZNK4absl" : "_ZN4absl") +
                     std::to_string(std::strlen(ns)) + ns + rest;
  void* fn = dlsym(RTLD_NEXT, name.c_str());
  if (fn == nullptr) {
    std::fprintf(stderr, "absl_sync_annotations: %s not found\n", name.c_str());
    std::abort();
  }
  return fn;
}

template <typename Fn>
Fn RealFn(bool is_const, const char* rest) {
  return reinterpret_cast<Fn>(Real(is_const, rest));
}

// The executable segments of gRPC's own libraries: its core (libgrpc), support library
// (libgpr) and C++ library (libgrpc++). All are linked in when the process starts, before
// any mutex can be destroyed, so they are listed once.
struct CodeRanges {
  static constexpr int kMax = 32;
  uintptr_t begin[kMax];
  uintptr_t end[kMax];
  int count = 0;
};

bool IsGrpcLibrary(const char* path) {
  const char* slash = std::strrchr(path, '/');
  const char* base = slash == nullptr ? path : slash + 1;
  return std::strncmp(base, "libgrpc", 7) == 0 || std::strncmp(base, "libgpr", 6) == 0;
}

CodeRanges FindGrpcCode() {
  CodeRanges ranges;
  auto add = [](dl_phdr_info* info, size_t, void* data) {
    auto* r = static_cast<CodeRanges*>(data);
    if (info->dlpi_name == nullptr || !IsGrpcLibrary(info->dlpi_name)) return 0;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
      const ElfW(Phdr)& ph = info->dlpi_phdr[i];
      if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) == 0) continue;
      if (r->count == CodeRanges::kMax) {
        std::fprintf(stderr, "absl_sync_annotations: over %d gRPC code segments\n",
                     CodeRanges::kMax);
        std::abort();
      }
      r->begin[r->count] = info->dlpi_addr + ph.p_vaddr;
      r->end[r->count] = info->dlpi_addr + ph.p_vaddr + ph.p_memsz;
      ++r->count;
    }
    return 0;
  };
  dl_iterate_phdr(add, &ranges);
  return ranges;
}

// Whether the code at `pc` belongs to gRPC's libraries.
bool InGrpcCode(const void* pc) {
  static const CodeRanges ranges = FindGrpcCode();
  auto at = reinterpret_cast<uintptr_t>(pc);
  for (int i = 0; i < ranges.count; ++i) {
    if (at >= ranges.begin[i] && at < ranges.end[i]) return true;
  }
  return false;
}

constexpr unsigned kRead = __tsan_mutex_read_lock;
constexpr unsigned kTry = __tsan_mutex_try_lock;

// Whether this thread is inside one of the wrappers below.
thread_local int wrapper_depth = 0;

// Marks a wrapper's extent; `outer()` says whether to annotate.
class Scope {
 public:
  Scope() : outer_(wrapper_depth++ == 0) {}
  ~Scope() { --wrapper_depth; }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  bool outer() const { return outer_; }

 private:
  const bool outer_;
};

// `call` takes `mu` (a TryLock: when it returns true; LockWhen*: always).
template <typename Call>
auto Locking(void* mu, unsigned flags, Call call) {
  Scope scope;
  if (scope.outer()) __tsan_mutex_pre_lock(mu, flags);
  auto result = call();
  bool failed = (flags & kTry) != 0 && !static_cast<bool>(result);
  if (scope.outer()) __tsan_mutex_post_lock(mu, failed ? flags | __tsan_mutex_try_lock_failed : flags, 0);
  return result;
}

// `call` releases `mu`.
template <typename Call>
void Unlocking(void* mu, unsigned flags, Call call) {
  Scope scope;
  if (scope.outer()) __tsan_mutex_pre_unlock(mu, flags);
  call();
  if (scope.outer()) __tsan_mutex_post_unlock(mu, flags);
}

// `call` releases the exclusively held `mu` and takes it again before it returns (Await,
// CondVar waits): for TSan the unlock starts before it and the lock ends after it. TSan
// ignores memory accesses inside a lock operation, so it does not see the conditions Abseil
// evaluates in there (with the lock held, though TSan would think it free), just as when
// Abseil annotates itself; the same holds for conditions other threads evaluate for this
// waiter inside their Unlock.
template <typename Call>
auto Waiting(void* mu, Call call) {
  Scope scope;
  if (scope.outer()) __tsan_mutex_pre_unlock(mu, 0);
  auto result = call();
  if (scope.outer()) {
    __tsan_mutex_post_unlock(mu, 0);
    __tsan_mutex_pre_lock(mu, 0);
    __tsan_mutex_post_lock(mu, 0, 0);
  }
  return result;
}

// Wraps a void call for the helpers above, which pass results through.
template <typename Call>
auto Void(Call call) {
  return [call] {
    call();
    return true;
  };
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

using Cond = const Condition&;

// ---- Mutex

// A destruction gRPC's code makes is not reported (see the top of the file): its order
// after the last unlock comes from gRPC's uninstrumented reference counts. What TSan keeps
// of such a mutex is dropped when its memory is freed (TSan's free clears the lock state
// of the whole block); memory reused without a free (an object rebuilt in place) carries
// the old lock's history over to the next mutex there, an ordering gRPC really provides,
// since the reuse must follow the destruction.
Mutex::~Mutex() {
  static auto real = RealFn<void (*)(Mutex*)>(false, "5MutexD1Ev");
  Scope scope;
  if (scope.outer() && !InGrpcCode(__builtin_return_address(0))) __tsan_mutex_destroy(this, 0);
  real(this);
}

void Mutex::Lock() {
  static auto real = RealFn<void (*)(Mutex*)>(false, "5Mutex4LockEv");
  Locking(this, 0, Void([&] { real(this); }));
}

void Mutex::ReaderLock() {
  static auto real = RealFn<void (*)(Mutex*)>(false, "5Mutex10ReaderLockEv");
  Locking(this, kRead, Void([&] { real(this); }));
}

bool Mutex::TryLock() {
  static auto real = RealFn<bool (*)(Mutex*)>(false, "5Mutex7TryLockEv");
  return Locking(this, kTry, [&] { return real(this); });
}

bool Mutex::ReaderTryLock() {
  static auto real = RealFn<bool (*)(Mutex*)>(false, "5Mutex13ReaderTryLockEv");
  return Locking(this, kRead | kTry, [&] { return real(this); });
}

void Mutex::Unlock() {
  static auto real = RealFn<void (*)(Mutex*)>(false, "5Mutex6UnlockEv");
  Unlocking(this, 0, [&] { real(this); });
}

void Mutex::ReaderUnlock() {
  static auto real = RealFn<void (*)(Mutex*)>(false, "5Mutex12ReaderUnlockEv");
  Unlocking(this, kRead, [&] { real(this); });
}

void Mutex::LockWhen(Cond c) {
  static auto real = RealFn<void (*)(Mutex*, Cond)>(false, "5Mutex8LockWhenERKNS0_9ConditionE");
  Locking(this, 0, Void([&] { real(this, c); }));
}

void Mutex::ReaderLockWhen(Cond c) {
  static auto real =
      RealFn<void (*)(Mutex*, Cond)>(false, "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  Locking(this, kRead, Void([&] { real(this, c); }));
}

bool Mutex::LockWhenWithTimeout(Cond c, Duration d) {
  static auto real = RealFn<bool (*)(Mutex*, Cond, Duration)>(
      false, "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking(this, 0, [&] { return real(this, c, d); });
}

bool Mutex::LockWhenWithDeadline(Cond c, Time t) {
  static auto real = RealFn<bool (*)(Mutex*, Cond, Time)>(
      false, "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, 0, [&] { return real(this, c, t); });
}

bool Mutex::ReaderLockWhenWithTimeout(Cond c, Duration d) {
  static auto real = RealFn<bool (*)(Mutex*, Cond, Duration)>(
      false, "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking(this, kRead, [&] { return real(this, c, d); });
}

bool Mutex::ReaderLockWhenWithDeadline(Cond c, Time t) {
  static auto real = RealFn<bool (*)(Mutex*, Cond, Time)>(
      false, "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, kRead, [&] { return real(this, c, t); });
}

void Mutex::Await(Cond c) {
  static auto real = RealFn<void (*)(Mutex*, Cond)>(false, "5Mutex5AwaitERKNS0_9ConditionE");
  Waiting(this, Void([&] { real(this, c); }));
}

bool Mutex::AwaitWithTimeout(Cond c, Duration d) {
  static auto real = RealFn<bool (*)(Mutex*, Cond, Duration)>(
      false, "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Waiting(this, [&] { return real(this, c, d); });
}

bool Mutex::AwaitWithDeadline(Cond c, Time t) {
  static auto real = RealFn<bool (*)(Mutex*, Cond, Time)>(
      false, "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Waiting(this, [&] { return real(this, c, t); });
}

// ---- CondVar

void CondVar::Wait(Mutex* mu) {
  static auto real = RealFn<void (*)(CondVar*, Mutex*)>(false, "7CondVar4WaitEPNS0_5MutexE");
  Waiting(mu, Void([&] { real(this, mu); }));
}

bool CondVar::WaitWithTimeout(Mutex* mu, Duration d) {
  static auto real = RealFn<bool (*)(CondVar*, Mutex*, Duration)>(
      false, "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return Waiting(mu, [&] { return real(this, mu, d); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, Time t) {
  static auto real = RealFn<bool (*)(CondVar*, Mutex*, Time)>(
      false, "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return Waiting(mu, [&] { return real(this, mu, t); });
}

// ---- Notification: Notify() releases, a wait that saw the notification acquires.

void Notification::Notify() {
  static auto real = RealFn<void (*)(Notification*)>(false, "12Notification6NotifyEv");
  Scope scope;
  if (scope.outer()) __tsan_release(this);
  real(this);
}

// Runs a wait; acquires when it saw the notification.
template <typename Call>
bool NotificationWait(const Notification* n, Call call) {
  Scope scope;
  bool notified = call();
  if (notified && scope.outer()) __tsan_acquire(const_cast<Notification*>(n));
  return notified;
}

void Notification::WaitForNotification() const {
  static auto real =
      RealFn<void (*)(const Notification*)>(true, "12Notification19WaitForNotificationEv");
  NotificationWait(this, Void([&] { real(this); }));
}

bool Notification::WaitForNotificationWithTimeout(Duration d) const {
  static auto real = RealFn<bool (*)(const Notification*, Duration)>(
      true, "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  return NotificationWait(this, [&] { return real(this, d); });
}

bool Notification::WaitForNotificationWithDeadline(Time t) const {
  static auto real = RealFn<bool (*)(const Notification*, Time)>(
      true, "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  return NotificationWait(this, [&] { return real(this, t); });
}

// ---- Status: every decrement of the shared representation's count is modelled as the
// acquire-release read-modify-write it is. `rep` is the tagged pointer (the representation's
// address plus one), an address inside the block: TSan forgets its clock when the block
// is freed.

void Status::UnrefNonInlined(uintptr_t rep) {
  static auto real = RealFn<void (*)(uintptr_t)>(false, "6Status15UnrefNonInlinedEm");
  Scope scope;
  if (scope.outer()) {
    __tsan_release(reinterpret_cast<void*>(rep));
    __tsan_acquire(reinterpret_cast<void*>(rep));
  }
  real(rep);
}

ABSL_NAMESPACE_END
}  // namespace absl
