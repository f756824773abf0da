// PageTable: reserve/commit around each step, prefix adoption, rewind and release.
#include "runtime/kv/page_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace smollm::runtime {

PageTable::PageTable(PagePool& pool, PrefixCache* cache, uint64_t cache_seed)
    : pool_(&pool), cache_(cache), seed_(cache_seed) {}

PageTable::PageTable(PageTable&& other) noexcept
    : pool_(other.pool_),
      cache_(other.cache_),
      seed_(other.seed_),
      pages_(std::move(other.pages_)),
      tokens_(std::move(other.tokens_)),
      links_(std::move(other.links_)),
      n_prefix_hit_tokens_(std::exchange(other.n_prefix_hit_tokens_, 0)) {
  other.pages_.clear();
  other.tokens_.clear();
  other.links_.clear();
}

PageTable& PageTable::operator=(PageTable&& other) noexcept {
  if (this != &other) {
    ReleaseAll();
    pool_ = other.pool_;
    cache_ = other.cache_;
    seed_ = other.seed_;
    pages_ = std::move(other.pages_);
    tokens_ = std::move(other.tokens_);
    links_ = std::move(other.links_);
    n_prefix_hit_tokens_ = std::exchange(other.n_prefix_hit_tokens_, 0);
    other.pages_.clear();
    other.tokens_.clear();
    other.links_.clear();
  }
  return *this;
}

absl::StatusOr<int32_t> PageTable::MatchPrefix(std::span<const TokenId> prompt) {
  if (!pages_.empty() || !tokens_.empty()) {
    return absl::FailedPreconditionError("MatchPrefix on a page table that is not empty");
  }
  if (cache_ == nullptr || prompt.empty()) return 0;
  PrefixCache::Match match = cache_->Lookup(seed_, prompt.first(prompt.size() - 1));
  pages_ = std::move(match.pages);
  links_ = std::move(match.links);
  tokens_.assign(prompt.begin(), prompt.begin() + match.n_tokens);
  n_prefix_hit_tokens_ = match.n_tokens;
  return match.n_tokens;
}

int32_t PageTable::PagesNeeded(int32_t n_new) const {
  const int64_t positions = static_cast<int64_t>(n_tokens()) + std::max(n_new, 0);
  const int64_t pages = (positions + page_size() - 1) / page_size();
  return static_cast<int32_t>(std::max<int64_t>(0, pages - n_pages()));
}

bool PageTable::Reserve(int32_t n_new, PageClaim claim) {
  if (n_new < 0) return false;
  return pool_->AllocateInto(PagesNeeded(n_new), claim, pages_);
}

absl::Status PageTable::Commit(std::span<const TokenId> tokens) {
  if (tokens.empty()) return absl::OkStatus();
  const int64_t end = static_cast<int64_t>(n_tokens()) + static_cast<int64_t>(tokens.size());
  if (end > capacity()) {
    return absl::FailedPreconditionError(absl::StrCat("Commit of ", tokens.size(), " tokens after ",
                                                      n_tokens(), " exceeds the reserved capacity ",
                                                      capacity()));
  }
  const int P = page_size();
  for (int64_t i = n_tokens() / P; i <= (end - 1) / P; ++i) {
    if (pool_->ref_count(pages_[i]) != 1 || pool_->is_cached(pages_[i])) {
      return absl::FailedPreconditionError(
          absl::StrCat("Commit would write page ", pages_[i], " (index ", i,
                       "), which is shared or cached and therefore immutable"));
    }
  }
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  // Register each page that just became full, in order, continuing the chain.
  for (size_t i = links_.size(); i < tokens_.size() / P; ++i) {
    PageLink link{seed_, 0, PageLink::kBrokenEntry};  // without a cache: never registered
    if (cache_ != nullptr) {
      const PageLink parent = i == 0 ? cache_->Root(seed_) : links_[i - 1];
      link =
          cache_->Register(parent, pages_[i], std::span<const TokenId>(tokens_).subspan(i * P, P));
    }
    links_.push_back(link);
  }
  return absl::OkStatus();
}

int32_t PageTable::Truncate(int32_t n) {
  const int P = page_size();
  n = std::clamp(n, 0, n_tokens());
  const int32_t full = n / P;
  int32_t keep_pages = full + (n % P != 0 ? 1 : 0);
  if (n % P != 0 && full < static_cast<int32_t>(links_.size())) {
    // n falls inside a full page, which later commits will overwrite past n.
    const int32_t page = pages_[full];
    if (pool_->ref_count(page) == 1 && (!pool_->is_cached(page) || cache_ != nullptr)) {
      if (pool_->is_cached(page)) cache_->Forget(page);  // ours alone: make it private
    } else {
      keep_pages = full;  // shared and immutable: drop it, recompute its first n % P
      n = full * P;
    }
  }
  while (n_pages() > keep_pages) {
    pool_->Release(pages_.back());
    pages_.pop_back();
  }
  tokens_.resize(n);
  links_.resize(std::min<size_t>(links_.size(), n / P));
  n_prefix_hit_tokens_ = std::min(n_prefix_hit_tokens_, n);
  return n;
}

void PageTable::ReleaseAll() {
  // Deepest page first: it becomes the least recently released, so LRU eviction takes a
  // chain from its tail and never strands children behind an evicted parent.
  while (!pages_.empty()) {
    pool_->Release(pages_.back());
    pages_.pop_back();
  }
  tokens_.clear();
  links_.clear();
  n_prefix_hit_tokens_ = 0;
}

}  // namespace smollm::runtime
