// TokenMailbox: engine sink listener -> reactor wake-up, and draining the sink.
#include "service/token_mailbox.h"

#include <utility>

namespace smollm::service {

TokenMailbox::TokenMailbox(int max_buffered_tokens)
    : sink_(std::make_shared<runtime::TokenSink>(max_buffered_tokens)),
      waker_(std::make_shared<Waker>()) {
  // The listener holds the waker, not the mailbox: the engine may push once more after
  // the reactor is gone, and must then find nothing to call.
  sink_->SetListener([waker = waker_] {
    absl::MutexLock lock(&waker->mu);
    if (waker->wake) waker->wake();
  });
}

TokenMailbox::~TokenMailbox() { Detach(); }

void TokenMailbox::Attach(std::function<void()> wake) {
  absl::MutexLock lock(&waker_->mu);
  waker_->wake = std::move(wake);
}

void TokenMailbox::Detach() {
  absl::MutexLock lock(&waker_->mu);
  waker_->wake = nullptr;
}

TokenMailbox::Batch TokenMailbox::Take() {
  Batch batch;
  batch.has_delta = sink_->Take(&batch.delta);
  batch.final_event = sink_->TakeFinal();
  return batch;
}

}  // namespace smollm::service
