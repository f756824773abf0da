// Prometheus metrics of the gRPC service, kept in a per-instance prometheus-cpp registry.
#include "service/metrics.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "service/metrics_exposer.h"

namespace smollm::service {
namespace {

using prometheus::Counter;
using prometheus::Gauge;
using prometheus::Histogram;

// Label values. Every list is fixed, so no input can add series.
constexpr std::array<absl::string_view, 8> kMethods = {
    "Generate", "Chat", "Tokenize", "Detokenize", "GetModelInfo", "GetSession",
    "DeleteSession", "other"};
constexpr size_t kOtherMethod = kMethods.size() - 1;

// grpc::StatusCode values 0..16, indexed by value; index 17 is "other".
constexpr std::array<absl::string_view, 18> kCodes = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
    "UNAUTHENTICATED", "other"};

// How a generation ended: the engine's finish reasons for a normal end, then the
// statuses that stop one early.
enum Outcome { kStopToken, kStopString, kMaxTokens, kLength, kCancelled, kDeadline, kError,
               kNumOutcomes };
constexpr std::array<absl::string_view, kNumOutcomes> kOutcomes = {
    "stop_token", "stop_string", "max_tokens", "length", "cancelled", "deadline_exceeded",
    "error"};

// Counters fed from EngineStats' monotonic totals, by the increase of the total.
enum EngineTotal { kPrefixHitTokens, kPrefixLookups, kEvictions, kPreemptions, kPrefillTokens,
                   kSampledTokens, kSteps, kStepNanos, kSessionsExpired, kSessionsEvicted,
                   kSessionKvDropped, kNumEngineTotals };
struct CounterSpec {
  const char* name;
  const char* help;
};
constexpr std::array<CounterSpec, kNumEngineTotals> kEngineCounters = {{
    {"smollm_prefix_cache_hit_tokens_total",
     "Tokens served from the prefix cache at admissions, re-admissions after preemption "
     "included"},
    {"smollm_prefix_cache_lookups_total",
     "Prefix-cache lookups (made when an admission expects cached pages)"},
    {"smollm_kv_cache_evictions_total", "Cached KV pages evicted to make room"},
    {"smollm_preemptions_total", "Sequences preempted (pages freed, recomputed later)"},
    {"smollm_engine_prefill_tokens_total",
     "Prompt tokens run through the model (cached ones excluded, recomputation included)"},
    {"smollm_engine_sampled_tokens_total", "Tokens sampled by the engine"},
    {"smollm_engine_steps_total", "Engine forward steps"},
    {"smollm_engine_step_seconds_total", "Time spent in engine forward steps"},
    {"smollm_sessions_expired_total", "Sessions closed after their idle TTL"},
    {"smollm_sessions_evicted_total", "Idle sessions pushed out by the session or token caps"},
    {"smollm_session_kv_dropped_total",
     "Times an idle session's KV was freed under page pressure (its next turn recomputes)"},
}};

uint64_t NonNegative(int64_t v) { return v > 0 ? static_cast<uint64_t>(v) : 0; }

// The totals in EngineTotal order; step time in nanoseconds.
std::array<uint64_t, kNumEngineTotals> EngineTotals(const runtime::EngineStats& s) {
  return {s.prefix_hit_tokens,
          s.prefix_lookups,
          s.evictions,
          NonNegative(s.preemptions),
          NonNegative(s.tokens_in),
          NonNegative(s.tokens_out),
          NonNegative(s.steps),
          NonNegative(absl::ToInt64Nanoseconds(s.total_step_time)),
          NonNegative(s.sessions_expired),
          NonNegative(s.sessions_evicted),
          NonNegative(s.session_kv_dropped)};
}

// Latencies of whole requests: 1 ms (a cached short prompt) to 10 min (a long generation
// queued behind others).
const std::vector<double> kRequestSecondsBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5,
    7.5, 10, 15, 20, 30, 45, 60, 120, 180, 300, 600};
// Time per output token: sub-millisecond batched decode to seconds (a stalled stream).
const std::vector<double> kTokenSecondsBuckets = {
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075,
    0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10};

// Token counts: powers of two from 1 to 128k (the longest context we serve).
std::vector<double> TokenCountBuckets() {
  std::vector<double> b;
  for (double v = 1; v <= 131072; v *= 2) b.push_back(v);
  return b;
}

size_t MethodIndex(absl::string_view method) {
  for (size_t i = 0; i < kOtherMethod; ++i) {
    if (kMethods[i] == method) return i;
  }
  return kOtherMethod;
}

size_t CodeIndex(grpc::StatusCode code) {
  const int v = static_cast<int>(code);
  return v >= 0 && v < static_cast<int>(kCodes.size()) - 1 ? static_cast<size_t>(v)
                                                            : kCodes.size() - 1;
}

Outcome OutcomeOf(const runtime::FinalEvent& e) {
  if (!e.status.ok()) {
    if (absl::IsCancelled(e.status)) return kCancelled;
    if (absl::IsDeadlineExceeded(e.status)) return kDeadline;
    return kError;
  }
  switch (e.usage.finish_reason) {
    case runtime::FinishReason::kStopToken: return kStopToken;
    case runtime::FinishReason::kStopString: return kStopString;
    case runtime::FinishReason::kMaxTokens: return kMaxTokens;
    case runtime::FinishReason::kLength: return kLength;
    case runtime::FinishReason::kCancelled: return kCancelled;
    case runtime::FinishReason::kNone: break;
  }
  return kError;  // an OK end without a reason breaks the engine's contract
}

std::string Str(absl::string_view s) { return std::string(s.data(), s.size()); }

// The increase of a monotonic total since `*last`; a smaller total restarted from zero.
uint64_t Advance(uint64_t* last, uint64_t now) {
  const uint64_t delta = now >= *last ? now - *last : now;
  *last = now;
  return delta;
}

template <typename T>
prometheus::Family<T>& Register(prometheus::Registry& r, const std::string& name,
                                const std::string& help) {
  return prometheus::detail::Builder<T>().Name(name).Help(help).Register(r);
}

}  // namespace

struct ServiceMetrics::Instruments {
  explicit Instruments(prometheus::Registry& r)
      : rpcs_started(Register<Counter>(r, "smollm_rpcs_started_total",
                                       "RPCs received, by method")),
        rpcs_finished(Register<Counter>(r, "smollm_rpcs_finished_total",
                                        "RPCs completed, by method and gRPC status code")),
        rpcs_in_flight(Register<Gauge>(r, "smollm_rpcs_in_flight",
                                       "RPCs started and not yet finished, by method")),
        generations(Register<Counter>(
            r, "smollm_generations_total",
            "Generations (Generate calls and session turns) ended, by finish reason")),
        prompt_tokens(Register<Counter>(r, "smollm_prompt_tokens_total",
                                        "Prompt tokens of ended generations (a session turn "
                                        "counts its whole history)").Add({})),
        cached_tokens(Register<Counter>(r, "smollm_prompt_tokens_cached_total",
                                        "Of the prompt tokens, those whose KV was reused (prefix "
                                        "cache or a session's retained KV)").Add({})),
        generation_tokens(Register<Counter>(r, "smollm_generation_tokens_total",
                                            "Tokens generated by ended generations").Add({})),
        prefix_hit_ratio(Register<Gauge>(
            r, "smollm_prefix_cache_hit_ratio",
            "smollm_prompt_tokens_cached_total / smollm_prompt_tokens_total since start")
                             .Add({})),
        cancellations(Register<Counter>(r, "smollm_cancellations_total",
                                        "Sequences stopped by a client cancel or disconnect")
                          .Add({})),
        running(Register<Gauge>(r, "smollm_requests_running",
                                "Sequences admitted to the running batch").Add({})),
        waiting(Register<Gauge>(r, "smollm_requests_waiting",
                                "Sequences queued for admission").Add({})),
        paused(Register<Gauge>(r, "smollm_requests_paused",
                               "Sequences paused while a slow client drains its stream").Add({})),
        sessions(Register<Gauge>(r, "smollm_sessions_active", "Open chat sessions").Add({})),
        draining(Register<Gauge>(r, "smollm_engine_draining",
                                 "1 while the engine refuses new work before shutdown").Add({})),
        kv_usage(Register<Gauge>(r, "smollm_kv_cache_usage_ratio",
                                 "KV pages referenced by sequences / all KV pages").Add({})),
        kv_capacity(Register<Gauge>(r, "smollm_kv_cache_capacity_pages", "KV pages in the pool")
                        .Add({})),
        model_load(Register<Gauge>(r, "smollm_model_load_time_seconds",
                                   "Time taken to load the model at startup").Add({})),
        ttft(Register<Histogram>(r, "smollm_time_to_first_token_seconds",
                                 "Request received by the engine to first token sampled")
                 .Add({}, kRequestSecondsBuckets)),
        inter_token(Register<Histogram>(r, "smollm_inter_token_latency_seconds",
                                        "Time between streamed tokens (a write of n tokens "
                                        "counts n intervals of its wait / n)")
                        .Add({}, kTokenSecondsBuckets)),
        e2e(Register<Histogram>(r, "smollm_e2e_request_latency_seconds",
                                "Request received to final event, per generation")
                .Add({}, kRequestSecondsBuckets)),
        queue_time(Register<Histogram>(r, "smollm_request_queue_time_seconds",
                                       "Request received by the engine to first admission")
                       .Add({}, kRequestSecondsBuckets)),
        prompt_hist(Register<Histogram>(r, "smollm_request_prompt_tokens",
                                        "Prompt tokens per generation")
                        .Add({}, TokenCountBuckets())),
        generation_hist(Register<Histogram>(r, "smollm_request_generation_tokens",
                                            "Generated tokens per generation")
                            .Add({}, TokenCountBuckets())) {
    for (size_t i = 0; i < kMethods.size(); ++i) {
      const prometheus::Labels labels = {{"method", Str(kMethods[i])}};
      started[i] = &rpcs_started.Add(labels);
      in_flight[i] = &rpcs_in_flight.Add(labels);
    }
    for (size_t i = 0; i < kNumOutcomes; ++i) {
      outcomes[i] = &generations.Add({{"finish_reason", Str(kOutcomes[i])}});
    }
    for (size_t i = 0; i < kEngineCounters.size(); ++i) {
      engine_totals[i] =
          &Register<Counter>(r, kEngineCounters[i].name, kEngineCounters[i].help).Add({});
    }
    auto& pages = Register<Gauge>(r, "smollm_kv_cache_pages", "KV pages by state");
    kv_used = &pages.Add({{"state", "used"}});
    kv_free = &pages.Add({{"state", "free"}});
    kv_cached = &pages.Add({{"state", "cached"}});
  }

  // Finished-RPC series are made on first use: 8 methods x 18 codes would mostly be zeros.
  Counter& Finished(size_t method, size_t code) {
    std::atomic<Counter*>& slot = finished[method * kCodes.size() + code];
    Counter* c = slot.load(std::memory_order_acquire);
    if (c == nullptr) {  // Family::Add returns the existing series to a racing caller
      c = &rpcs_finished.Add({{"method", Str(kMethods[method])}, {"code", Str(kCodes[code])}});
      slot.store(c, std::memory_order_release);
    }
    return *c;
  }

  prometheus::Family<Counter>& rpcs_started;
  prometheus::Family<Counter>& rpcs_finished;
  prometheus::Family<Gauge>& rpcs_in_flight;
  prometheus::Family<Counter>& generations;
  Counter& prompt_tokens;
  Counter& cached_tokens;
  Counter& generation_tokens;
  Gauge& prefix_hit_ratio;
  Counter& cancellations;
  Gauge& running;
  Gauge& waiting;
  Gauge& paused;
  Gauge& sessions;
  Gauge& draining;
  Gauge& kv_usage;
  Gauge& kv_capacity;
  Gauge& model_load;
  Histogram& ttft;
  Histogram& inter_token;
  Histogram& e2e;
  Histogram& queue_time;
  Histogram& prompt_hist;
  Histogram& generation_hist;
  std::array<Counter*, kMethods.size()> started{};
  std::array<Gauge*, kMethods.size()> in_flight{};
  std::array<Counter*, kNumOutcomes> outcomes{};
  std::array<Counter*, kNumEngineTotals> engine_totals{};
  std::array<std::atomic<Counter*>, kMethods.size() * kCodes.size()> finished{};
  Gauge* kv_used = nullptr;
  Gauge* kv_free = nullptr;
  Gauge* kv_cached = nullptr;
};

ServiceMetrics::ServiceMetrics()
    : registry_(std::make_shared<prometheus::Registry>()), last_totals_(kNumEngineTotals, 0) {}

ServiceMetrics::~ServiceMetrics() { exposer_.reset(); }

absl::StatusOr<std::unique_ptr<ServiceMetrics>> ServiceMetrics::Create(
    const MetricsOptions& options) {
  if (!options.listen_address.empty()) {
    if (absl::Status st = ValidateListenAddress(options.listen_address); !st.ok()) return st;
  }
  std::unique_ptr<ServiceMetrics> metrics(new ServiceMetrics());
  // prometheus-cpp throws on invalid names or buckets; ours are constants, but the
  // exception still stops here rather than crossing into callers that expect statuses.
  try {
    metrics->m_ = std::make_unique<Instruments>(*metrics->registry_);
    Register<Gauge>(*metrics->registry_, "smollm_build_info",
                    "Always 1; labels describe the build and the model served")
        .Add({{"version", options.version},
              {"model", options.model_name},
              {"architecture", options.architecture},
              {"quantization", options.quantization},
              {"device", options.device}})
        .Set(1);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("metrics registration failed: ", e.what()));
  }
  if (!options.listen_address.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsExposer>> exposer =
        MetricsExposer::Start(options.listen_address, metrics->registry_);
    if (!exposer.ok()) return exposer.status();
    metrics->exposer_ = *std::move(exposer);
  }
  return metrics;
}

int ServiceMetrics::metrics_port() const {
  return exposer_ == nullptr ? 0 : exposer_->port();
}

void ServiceMetrics::SetModelLoadTime(absl::Duration d) {
  m_->model_load.Set(absl::ToDoubleSeconds(d));
}

void ServiceMetrics::RpcStarted(absl::string_view method) {
  const size_t i = MethodIndex(method);
  m_->started[i]->Increment();
  m_->in_flight[i]->Increment();
}

void ServiceMetrics::RpcFinished(absl::string_view method, grpc::StatusCode code) {
  const size_t i = MethodIndex(method);
  m_->Finished(i, CodeIndex(code)).Increment();
  m_->in_flight[i]->Decrement();
}

void ServiceMetrics::GenerationFinished(const runtime::FinalEvent& final_event,
                                        absl::Duration end_to_end) {
  const runtime::Usage& u = final_event.usage;
  m_->outcomes[OutcomeOf(final_event)]->Increment();
  m_->e2e.Observe(std::max(0.0, absl::ToDoubleSeconds(end_to_end)));
  // A request refused before it reached a sequence carries an empty Usage: it adds no
  // token counts and no engine latencies.
  const int prompt = std::max(0, u.prompt_tokens);
  const int cached = std::clamp(u.cached_tokens, 0, prompt);
  const int generated = std::max(0, u.completion_tokens);
  if (prompt > 0) {
    m_->prompt_hist.Observe(prompt);
    m_->generation_hist.Observe(generated);
  }
  if (generated > 0) m_->ttft.Observe(absl::ToDoubleSeconds(u.time_to_first_token));
  if (u.queue_time > absl::ZeroDuration() || generated > 0) {
    m_->queue_time.Observe(std::max(0.0, absl::ToDoubleSeconds(u.queue_time)));
  }
  m_->generation_tokens.Increment(generated);
  absl::MutexLock lock(&ratio_mu_);
  prompt_tokens_ += prompt;
  cached_tokens_ += cached;
  m_->prompt_tokens.Increment(prompt);
  m_->cached_tokens.Increment(cached);
  if (prompt_tokens_ > 0) {
    m_->prefix_hit_ratio.Set(static_cast<double>(cached_tokens_) /
                             static_cast<double>(prompt_tokens_));
  }
}

void ServiceMetrics::TokensStreamed(int tokens, absl::Duration since_previous_write) {
  if (tokens <= 0 || since_previous_write < absl::ZeroDuration()) return;
  const double total = absl::ToDoubleSeconds(since_previous_write);
  const double each = total / tokens;
  // `tokens` observations of `each` at once: the bucket Observe(each) would pick (the
  // first bound >= each; the last slot is +Inf) grows by `tokens`.
  std::vector<double> increments(kTokenSecondsBuckets.size() + 1, 0.0);
  const size_t bucket =
      std::lower_bound(kTokenSecondsBuckets.begin(), kTokenSecondsBuckets.end(), each) -
      kTokenSecondsBuckets.begin();
  increments[bucket] = tokens;
  m_->inter_token.ObserveMultiple(increments, total);
}

void ServiceMetrics::Cancelled() { m_->cancellations.Increment(); }

void ServiceMetrics::UpdateEngineStats(const runtime::EngineStats& s) {
  m_->running.Set(s.running);
  m_->waiting.Set(s.waiting);
  m_->paused.Set(s.paused);
  m_->draining.Set(s.draining ? 1 : 0);
  m_->kv_capacity.Set(s.kv_pages_total);
  m_->kv_used->Set(s.kv_pages_used);
  m_->kv_free->Set(s.kv_pages_free);
  m_->kv_cached->Set(s.kv_pages_cached);
  m_->kv_usage.Set(s.kv_pages_total > 0 ? static_cast<double>(s.kv_pages_used) /
                                              static_cast<double>(s.kv_pages_total)
                                        : 0.0);
  const std::array<uint64_t, kNumEngineTotals> totals = EngineTotals(s);
  absl::MutexLock lock(&engine_mu_);
  for (size_t i = 0; i < kNumEngineTotals; ++i) {
    const double delta = static_cast<double>(Advance(&last_totals_[i], totals[i]));
    m_->engine_totals[i]->Increment(i == kStepNanos ? delta * 1e-9 : delta);
  }
}

void ServiceMetrics::SessionsActive(int64_t n) { m_->sessions.Set(static_cast<double>(n)); }

std::string ServiceMetrics::TextExposition() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace smollm::service
