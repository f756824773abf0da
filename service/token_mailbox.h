// The bridge from the engine's TokenSink to a reactor's single writer.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "runtime/engine/token_sink.h"

namespace smollm::service {

// One per submitted request. The engine pushes into the sink without blocking; the sink
// coalesces deltas while the reactor's write is in flight and, once `max_buffered_tokens`
// wait, pauses the sequence in the engine until the reactor takes them. After each push
// the engine thread calls the wake-up set by Attach, which must not block: the reactor
// starts a write there if none is in flight, and otherwise takes the backlog from
// OnWriteDone. Thread-safe.
class TokenMailbox {
 public:
  explicit TokenMailbox(int max_buffered_tokens);
  ~TokenMailbox();  // Detach()
  TokenMailbox(const TokenMailbox&) = delete;
  TokenMailbox& operator=(const TokenMailbox&) = delete;

  // The sink to hand Engine::Submit (Attach first).
  const std::shared_ptr<runtime::TokenSink>& sink() const { return sink_; }

  // Sets the wake-up. It runs on the engine thread (or wherever the sink is finished)
  // with the mailbox's lock held: it may lock the reactor, never call Detach.
  void Attach(std::function<void()> wake);
  // Afterwards the wake-up is neither running nor called again. Never call it from the
  // wake-up, nor while holding a lock the wake-up takes.
  void Detach();

  // What is pending: the coalesced delta (if any) and, once every delta is taken, the
  // final event.
  struct Batch {
    runtime::TokenEvent delta;
    bool has_delta = false;
    std::optional<runtime::FinalEvent> final_event;
    bool empty() const { return !has_delta && !final_event.has_value(); }
  };
  Batch Take();

 private:
  struct Waker {
    absl::Mutex mu;
    std::function<void()> wake ABSL_GUARDED_BY(mu);
  };
  std::shared_ptr<runtime::TokenSink> sink_;
  std::shared_ptr<Waker> waker_;
};

}  // namespace smollm::service
