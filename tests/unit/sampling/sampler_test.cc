// Sampler: greedy, seeding, the distribution drawn from (against the scalar reference),
// bans, logprobs and errors, on random logits.
#include "runtime/sampling/sampler.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tests/test_support.h"
#include "tests/unit/sampling/reference_sampling.h"

namespace smollm::runtime {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> RandomLogits(size_t n, std::mt19937& gen, float sigma = 3.0f) {
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> logits(n);
  for (float& v : logits) v = normal(gen);
  return logits;
}

Sampler MakeSampler(const SamplingParams& params, int32_t vocab) {
  absl::StatusOr<Sampler> sampler = Sampler::Create(params, vocab);
  EXPECT_TRUE(sampler.ok()) << sampler.status();
  return std::move(sampler).value();
}

TEST(SamplerTest, GreedyPicksTheArgmaxAndTheLowestIdOnTies) {
  std::mt19937 gen(1);
  SamplingParams params;
  params.temperature = 0.0f;
  for (int trial = 0; trial < 200; ++trial) {
    const size_t n = 1 + gen() % 5000;
    std::vector<float> logits = RandomLogits(n, gen);
    size_t best = 0;
    for (size_t i = 1; i < n; ++i) best = logits[i] > logits[best] ? i : best;
    if (trial % 2 == 0 && best + 1 < n) logits.back() = logits[best];  // a later tie
    Sampler sampler = MakeSampler(params, static_cast<int32_t>(n));
    absl::StatusOr<SampleResult> result = sampler.Sample(logits);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->token, static_cast<TokenId>(best));
    EXPECT_FALSE(result->logprob.has_value());  // not requested
  }
  // A temperature below kGreedyTemperature is greedy too.
  params.temperature = kGreedyTemperature / 2;
  Sampler sampler = MakeSampler(params, 4);
  EXPECT_EQ(sampler.Sample(std::vector<float>{1.0f, 3.0f, 3.0f, 2.0f})->token, 1);
}

TEST(SamplerTest, GreedyHonoursBiasAndBans) {
  SamplingParams params;
  params.temperature = 0.0f;
  params.logit_bias = {{3, -kInf}, {0, 2.5f}};
  Sampler sampler = MakeSampler(params, 5);
  // Token 3 (the argmax) is banned; token 0 rises from 1.0 to 3.5 above token 1 (3.0).
  EXPECT_EQ(sampler.Sample(std::vector<float>{1.0f, 3.0f, 2.0f, 9.0f, -1.0f})->token, 0);
}

TEST(SamplerTest, SameSeedSameTokensDifferentSeedDifferentTokens) {
  constexpr int32_t kVocab = 1000;
  std::mt19937 gen(2);
  std::vector<std::vector<float>> rows;
  for (int i = 0; i < 1000; ++i) rows.push_back(RandomLogits(kVocab, gen, 1.0f));
  SamplingParams params;
  params.temperature = 0.9f;
  params.top_p = 0.95f;
  params.frequency_penalty = 0.3f;
  auto run = [&](uint64_t seed) {
    params.seed = seed;
    Sampler sampler = MakeSampler(params, kVocab);
    std::vector<TokenId> tokens;
    for (const auto& row : rows) {
      const TokenId t = sampler.Sample(row).value().token;
      EXPECT_TRUE(sampler.Accept(t).ok());
      tokens.push_back(t);
    }
    return tokens;
  };
  const std::vector<TokenId> a = run(1234), b = run(1234), c = run(1235);
  EXPECT_EQ(a, b);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i] != c[i];
  EXPECT_GT(differ, 500);  // flat rows: two streams rarely agree
}

// Chi-square of `draws` samples against the reference distribution; cells with an
// expected count below 5 are pooled.
double ChiSquare(Sampler& sampler, const std::vector<float>& logits,
                 const std::vector<double>& expected_probs, int draws, int* dof) {
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) {
    const TokenId t = sampler.Sample(logits).value().token;
    EXPECT_GT(expected_probs[static_cast<size_t>(t)], 0.0) << "drew a removed token " << t;
    ++counts[static_cast<size_t>(t)];
  }
  double chi2 = 0.0, pooled_expected = 0.0, pooled_count = 0.0;
  *dof = -1;
  for (size_t t = 0; t < logits.size(); ++t) {
    const double e = expected_probs[t] * draws;
    if (e == 0.0) continue;
    if (e < 5.0) {
      pooled_expected += e;
      pooled_count += counts[t];
      continue;
    }
    chi2 += (counts[t] - e) * (counts[t] - e) / e;
    ++*dof;
  }
  if (pooled_expected > 0.0) {
    chi2 += (pooled_count - pooled_expected) * (pooled_count - pooled_expected) / pooled_expected;
    ++*dof;
  }
  return chi2;
}

TEST(SamplerTest, DrawsFollowTheDistribution) {
  // Upper 0.001 quantiles of chi-square by degrees of freedom.
  const double kCritical[] = {10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12,
                              27.88, 29.59, 31.26, 32.91, 34.53, 36.12, 37.70, 39.25};
  struct Case {
    float temperature;
    int32_t top_k;
    float top_p;
    float min_p;
  };
  const Case cases[] = {{1.0f, 0, 1.0f, 0.0f},  {0.7f, 0, 1.0f, 0.0f}, {1.5f, 4, 1.0f, 0.0f},
                        {1.0f, 0, 0.8f, 0.0f},  {1.2f, 0, 1.0f, 0.1f}, {0.8f, 6, 0.9f, 0.05f}};
  std::mt19937 gen(3);
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "T " << c.temperature << " k " << c.top_k << " p "
                                      << c.top_p << " min_p " << c.min_p);
    const std::vector<float> logits = RandomLogits(10, gen, 1.0f);
    SamplingParams params;
    params.temperature = c.temperature;
    params.top_k = c.top_k;
    params.top_p = c.top_p;
    params.min_p = c.min_p;
    params.seed = 99;
    bool ambiguous = false;
    const std::vector<double> expected = reference::Distribution(logits, params, &ambiguous);
    ASSERT_FALSE(ambiguous);
    Sampler sampler = MakeSampler(params, 10);
    int dof = 0;
    const double chi2 = ChiSquare(sampler, logits, expected, 20000, &dof);
    ASSERT_GE(dof, 1);
    EXPECT_LT(chi2, kCritical[dof - 1]) << "dof " << dof;
  }
}

// Random parameters over every processing step.
SamplingParams RandomParams(std::mt19937& gen, int32_t vocab) {
  SamplingParams p;
  auto coin = [&](int percent) { return static_cast<int>(gen() % 100) < percent; };
  p.temperature = coin(10) ? 0.0f : 0.2f + static_cast<float>(gen() % 20) / 10.0f;
  p.top_k = coin(40) ? 1 + static_cast<int32_t>(gen() % static_cast<uint32_t>(vocab)) : 0;
  p.top_p = coin(50) ? static_cast<float>(gen() % 1000) / 1000.0f : 1.0f;
  p.min_p = coin(40) ? static_cast<float>(gen() % 300) / 1000.0f : 0.0f;
  if (coin(30)) {
    p.repetition_penalty = 0.8f + static_cast<float>(gen() % 10) / 10.0f;
    p.repetition_window = static_cast<int32_t>(gen() % 64);
  }
  if (coin(30)) p.presence_penalty = static_cast<float>(gen() % 5) / 2.0f - 1.0f;
  if (coin(30)) p.frequency_penalty = static_cast<float>(gen() % 5) / 2.0f - 1.0f;
  if (coin(40)) {
    for (int i = 0; i < 5; ++i) {
      const TokenId t = static_cast<TokenId>(gen() % static_cast<uint32_t>(vocab));
      p.logit_bias[t] = coin(30) ? -kInf : static_cast<float>(gen() % 21) - 10.0f;
    }
  }
  p.seed = gen();
  return p;
}

void CheckDistributions(int32_t vocab, int trials, uint32_t seed) {
  std::mt19937 gen(seed);
  int compared = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const SamplingParams params = RandomParams(gen, vocab);
    std::vector<float> logits = RandomLogits(static_cast<size_t>(vocab), gen);
    if (trial % 4 == 0) {  // ties
      for (float& v : logits) v = std::round(v * 2.0f) / 2.0f;
    }
    reference::History history;
    const uint32_t recent = static_cast<uint32_t>(std::min(vocab, 40));  // so tokens repeat
    for (int i = 0; i < 30; ++i) history.prompt.push_back(static_cast<TokenId>(gen() % recent));
    for (int i = 0; i < 20; ++i) {
      history.generated.push_back(static_cast<TokenId>(gen() % recent));
    }
    const std::vector<float> processed = reference::ProcessedLogits(logits, params, history);
    bool all_banned = true;
    for (float v : processed) all_banned &= v == -kInf;
    if (all_banned) continue;
    bool ambiguous = false;
    const std::vector<double> expected = reference::Distribution(processed, params, &ambiguous);
    if (ambiguous) continue;

    Sampler sampler = MakeSampler(params, vocab);
    ASSERT_TRUE(sampler.AcceptPrompt(history.prompt).ok());
    for (TokenId t : history.generated) ASSERT_TRUE(sampler.Accept(t).ok());
    std::vector<float> got;
    ASSERT_TRUE(sampler.Distribution(logits, &got).ok());
    for (size_t t = 0; t < got.size(); ++t) {
      // Probabilities below e^-87 of the top one are flushed to 0 (ExpNonPositive).
      if (expected[t] == 0.0 || expected[t] > 1e-30) {
        ASSERT_EQ(got[t] > 0.0f, expected[t] > 0.0)
            << "trial " << trial << " token " << t << " got " << got[t] << " expected "
            << expected[t] << " T " << params.temperature << " k " << params.top_k << " p "
            << params.top_p << " min_p " << params.min_p;
      }
      ASSERT_NEAR(got[t], expected[t], 2e-5 + 1e-4 * expected[t]) << "trial " << trial;
    }
    // Every drawn token lies inside the kept set.
    for (int i = 0; i < 50; ++i) {
      const TokenId token = sampler.Sample(logits).value().token;
      ASSERT_GT(expected[static_cast<size_t>(token)], 0.0) << "trial " << trial;
    }
    ++compared;
  }
  EXPECT_GT(compared, trials * 8 / 10);
}

TEST(SamplerTest, DistributionMatchesReferenceSmallVocabularies) {
  CheckDistributions(7, 400, 4);
  CheckDistributions(60, 400, 5);
  CheckDistributions(1500, 200, 6);
}

TEST(SamplerTest, DistributionMatchesReferenceLargeVocabulary) {
  // 128256 entries: exercises the vector kernels, the block draw and the nucleus
  // threshold retries (flat rows need several).
  constexpr int32_t kVocab = 128256;
  std::mt19937 gen(7);
  struct Case {
    float temperature, top_p, min_p;
    int32_t top_k;
    float sigma;
  };
  // The second case needs the nucleus threshold lowered at least once: the tokens
  // within a factor 2^10 of the top one hold only 70-86% of the mass of such rows.
  const Case cases[] = {{0.7f, 0.9f, 0.0f, 0, 3.0f},   {1.0f, 0.9f, 0.0f, 0, 2.5f},
                        {1.0f, 1.0f, 0.05f, 0, 3.0f},  {0.8f, 0.9f, 0.02f, 0, 2.0f},
                        {1.3f, 0.5f, 0.0f, 500, 2.0f}, {1.0f, 1.0f, 0.0f, 0, 2.0f}};
  for (const Case& c : cases) {
    SamplingParams params;
    params.temperature = c.temperature;
    params.top_p = c.top_p;
    params.min_p = c.min_p;
    params.top_k = c.top_k;
    // With 128k tokens the mass steps near the top-p boundary are small: draw rows until
    // the boundary is clear of float rounding.
    std::vector<float> logits;
    std::vector<double> expected;
    bool ambiguous = true;
    for (int attempt = 0; attempt < 20 && ambiguous; ++attempt) {
      logits = RandomLogits(kVocab, gen, c.sigma);
      expected = reference::Distribution(logits, params, &ambiguous);
    }
    ASSERT_FALSE(ambiguous) << c.temperature << " " << c.top_p << " " << c.min_p;
    Sampler sampler = MakeSampler(params, kVocab);
    std::vector<float> got;
    ASSERT_TRUE(sampler.Distribution(logits, &got).ok());
    size_t kept = 0;
    for (size_t t = 0; t < got.size(); ++t) {
      if (expected[t] == 0.0 || expected[t] > 1e-30) {
        ASSERT_EQ(got[t] > 0.0f, expected[t] > 0.0) << t;
      }
      ASSERT_NEAR(got[t], expected[t], 1e-7 + 1e-4 * expected[t]) << t;
      kept += got[t] > 0.0f;
    }
    for (int i = 0; i < 200; ++i) {
      ASSERT_GT(expected[static_cast<size_t>(sampler.Sample(logits).value().token)], 0.0);
    }
    RecordProperty("kept", static_cast<int>(kept));
  }
}

TEST(SamplerTest, BannedTokensAreNeverDrawn) {
  constexpr int32_t kVocab = 50;
  std::mt19937 gen(8);
  SamplingParams params;
  params.temperature = 5.0f;  // flat: banned tokens would be likely otherwise
  for (TokenId t = 0; t < kVocab; t += 2) params.logit_bias[t] = -kInf;
  Sampler sampler = MakeSampler(params, kVocab);
  for (int i = 0; i < 5000; ++i) {
    const std::vector<float> logits = RandomLogits(kVocab, gen);
    ASSERT_EQ(sampler.Sample(logits).value().token % 2, 1);
  }
}

TEST(SamplerTest, LogprobsAreTheProcessedLogSoftmaxSortedAndNormalised) {
  constexpr int32_t kVocab = 20;
  std::mt19937 gen(9);
  for (int trial = 0; trial < 200; ++trial) {
    SamplingParams params = RandomParams(gen, kVocab);
    params.top_logprobs = kVocab;
    params.logprobs = true;
    std::vector<float> logits = RandomLogits(kVocab, gen);
    if (trial % 3 == 0) {
      for (float& v : logits) v = std::round(v);  // ties
    }
    reference::History history;
    for (int i = 0; i < 10; ++i) history.generated.push_back(static_cast<TokenId>(gen() % 8));
    const std::vector<float> processed = reference::ProcessedLogits(logits, params, history);
    bool all_banned = true;
    for (float v : processed) all_banned &= v == -kInf;
    if (all_banned) continue;
    const std::vector<double> expected = reference::LogSoftmax(processed);

    Sampler sampler = MakeSampler(params, kVocab);
    for (TokenId t : history.generated) ASSERT_TRUE(sampler.Accept(t).ok());
    const SampleResult result = sampler.Sample(logits).value();
    ASSERT_TRUE(result.logprob.has_value());
    EXPECT_NEAR(*result.logprob, expected[static_cast<size_t>(result.token)], 1e-5);
    ASSERT_EQ(result.num_top, kVocab);
    double mass = 0.0;
    for (int32_t i = 0; i < result.num_top; ++i) {
      const TokenLogprob& alt = result.top_logprobs()[static_cast<size_t>(i)];
      if (expected[static_cast<size_t>(alt.token)] == -kInf) {
        EXPECT_EQ(alt.logprob, -kInf);  // a banned token
      } else {
        EXPECT_NEAR(alt.logprob, expected[static_cast<size_t>(alt.token)], 1e-5);
      }
      mass += std::exp(static_cast<double>(alt.logprob));
      if (i > 0) {
        const TokenLogprob& prev = result.top_logprobs()[static_cast<size_t>(i - 1)];
        const float a = processed[static_cast<size_t>(prev.token)];
        const float b = processed[static_cast<size_t>(alt.token)];
        EXPECT_TRUE(a > b || (a == b && prev.token < alt.token)) << "order at " << i;
      }
    }
    EXPECT_NEAR(mass, 1.0, 1e-5);
  }
}

TEST(SamplerTest, LogprobsDoNotDependOnTemperatureOrTruncation) {
  constexpr int32_t kVocab = 3000;
  std::mt19937 gen(10);
  const std::vector<float> logits = RandomLogits(kVocab, gen);
  const std::vector<double> expected = reference::LogSoftmax(logits);
  // Greedy, T = 1 (log-sum-exp from the softmax), T = 0.5, top-k, min-p only.
  const SamplingParams base = [] {
    SamplingParams p;
    p.top_logprobs = 5;
    return p;
  }();
  std::vector<SamplingParams> all(5, base);
  all[0].temperature = 0.0f;
  all[2].temperature = 0.5f;
  all[3].top_k = 10;
  all[4].min_p = 0.1f;
  std::vector<TokenLogprob> first;
  for (const SamplingParams& params : all) {
    Sampler sampler = MakeSampler(params, kVocab);
    const SampleResult r = sampler.Sample(logits).value();
    EXPECT_NEAR(*r.logprob, expected[static_cast<size_t>(r.token)], 1e-5);
    ASSERT_EQ(r.num_top, 5);
    if (first.empty()) first.assign(r.top_logprobs().begin(), r.top_logprobs().end());
    for (int32_t i = 0; i < 5; ++i) {
      EXPECT_EQ(r.top[static_cast<size_t>(i)].token, first[static_cast<size_t>(i)].token);
      EXPECT_NEAR(r.top[static_cast<size_t>(i)].logprob, first[static_cast<size_t>(i)].logprob,
                  1e-6);
    }
  }
}

TEST(SamplerTest, RejectsBadRowsAndParams) {
  SamplingParams params;
  Sampler sampler = MakeSampler(params, 8);
  std::vector<float> row = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  EXPECT_EQ(sampler.Sample(std::span(row).first(7)).status().code(),
            absl::StatusCode::kInvalidArgument);
  row[5] = std::numeric_limits<float>::quiet_NaN();
  absl::Status status = sampler.Sample(row).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(smollm::testing::MessageContains(status, "logits[5]")) << status;
  row[5] = kInf;
  EXPECT_EQ(sampler.Sample(row).status().code(), absl::StatusCode::kInvalidArgument);
  row[5] = -kInf;
  EXPECT_TRUE(sampler.Sample(row).ok());
  EXPECT_EQ(sampler.Sample(std::vector<float>(8, -kInf)).status().code(),
            absl::StatusCode::kInvalidArgument);
  params.top_p = 2.0f;
  EXPECT_EQ(Sampler::Create(params, 8).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sampler.Accept(8).code(), absl::StatusCode::kInvalidArgument);
}

TEST(SamplerTest, PenaltiesSteerGreedyDecoding) {
  SamplingParams params;
  params.temperature = 0.0f;
  params.frequency_penalty = 1.0f;
  Sampler sampler = MakeSampler(params, 3);
  const std::vector<float> logits = {2.0f, 1.5f, 0.0f};
  // Token 0 wins, then costs 1 per use: 2 -> 1 loses to 1.5; then 1.5 -> 0.5 vs 1 ...
  std::vector<TokenId> tokens;
  for (int i = 0; i < 4; ++i) {
    const TokenId t = sampler.Sample(logits).value().token;
    ASSERT_TRUE(sampler.Accept(t).ok());
    tokens.push_back(t);
  }
  EXPECT_EQ(tokens, (std::vector<TokenId>{0, 1, 0, 1}));
}

TEST(SamplerTest, SampleDoesNotChangeThePenaltyHistory) {
  SamplingParams params;
  params.temperature = 0.0f;
  params.presence_penalty = 2.0f;
  Sampler sampler = MakeSampler(params, 3);
  const std::vector<float> logits = {2.0f, 1.0f, 0.0f};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sampler.Sample(logits)->token, 0);
}

}  // namespace
}  // namespace smollm::runtime
