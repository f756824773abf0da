// Least-squares scale searches for the K-quant reference quantizers.
#include "runtime/quant/scale_search.h"

#include <cmath>
#include <optional>

#include "runtime/quant/half.h"

namespace smollm::runtime {
namespace {

constexpr int kMaxElements = 32;      // sub-blocks are 16 (Q6_K) or 32 (Q4_K) long
constexpr float kZeroGroup = 1e-15f;  // below this the sub-block is treated as zero
constexpr int kGridSteps = 20;        // starting points nmax-1 .. nmax+1, step 0.1
constexpr int kRefineRounds = 8;

// Least-squares (scale, offset) for x ~ scale * q + offset with offset <= 0; nullopt if
// the q are all equal or the fit is not a positive scale.
std::optional<AffineFit> FitAffineGiven(std::span<const float> x, const uint8_t* q) {
  double n = 0, sq = 0, sqq = 0, sx = 0, sxq = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double qi = q[i];
    n += 1;
    sq += qi;
    sqq += qi * qi;
    sx += x[i];
    sxq += x[i] * qi;
  }
  const double det = n * sqq - sq * sq;
  if (!(det > 0)) return std::nullopt;
  double scale = (n * sxq - sx * sq) / det;
  double offset = (sqq * sx - sq * sxq) / det;
  if (offset > 0) {  // the format's min is subtracted, so the offset cannot be positive
    offset = 0;
    scale = sxq / sqq;
  }
  if (!(scale > 0) || !std::isfinite(scale) || !std::isfinite(offset)) return std::nullopt;
  return AffineFit{static_cast<float>(scale), static_cast<float>(-offset)};
}

// Least-squares scale for x ~ scale * q; 0 when all q are 0.
float FitSymmetricGiven(std::span<const float> x, const int8_t* q) {
  double sxq = 0, sqq = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxq += static_cast<double>(x[i]) * q[i];
    sqq += static_cast<double>(q[i]) * q[i];
  }
  if (!(sqq > 0)) return 0.0f;
  const double scale = sxq / sqq;
  return std::isfinite(scale) ? static_cast<float>(scale) : 0.0f;
}

}  // namespace

int RoundClamp(float v, int lo, int hi) {
  if (!(v > static_cast<float>(lo))) return lo;  // also NaN
  if (!(v < static_cast<float>(hi))) return hi;
  return static_cast<int>(std::nearbyint(v));  // default rounding mode: ties to even
}

float ClampToFp16Range(float v) {
  // 65520 and above round to infinity in fp16.
  return std::fabs(v) < 65520.0f ? v : std::copysign(kFp16Max, v);
}

double AffineError(std::span<const float> x, int nmax, float scale, float min, uint8_t* q) {
  double err = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const int qi = scale > 0 ? RoundClamp((x[i] + min) / scale, 0, nmax) : 0;
    if (q != nullptr) q[i] = static_cast<uint8_t>(qi);
    const float y = scale * static_cast<float>(qi) - min;
    const double diff = static_cast<double>(y) - x[i];
    err += diff * diff;
  }
  return err;
}

double SymmetricError(std::span<const float> x, int nmax, float scale, int8_t* q) {
  double err = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const int qi = scale != 0 ? RoundClamp(x[i] / scale, -nmax, nmax - 1) : 0;
    if (q != nullptr) q[i] = static_cast<int8_t>(qi);
    const double diff = static_cast<double>(scale * static_cast<float>(qi)) - x[i];
    err += diff * diff;
  }
  return err;
}

AffineFit FitAffine(std::span<const float> x, int nmax) {
  float lo = 0, hi = x[0];
  for (float v : x) {
    lo = std::fmin(lo, v);
    hi = std::fmax(hi, v);
  }
  if (!(static_cast<double>(hi) - lo > kZeroGroup)) return AffineFit{0.0f, -lo};

  // The plain min/max grid, then least-squares fits of the quants that a grid of
  // slightly different scales assigns.
  AffineFit best{static_cast<float>((static_cast<double>(hi) - lo) / nmax), -lo};
  double best_err = AffineError(x, nmax, best.scale, best.min, nullptr);
  uint8_t q[kMaxElements];
  const double range = static_cast<double>(hi) - lo;
  for (int step = 0; step <= kGridSteps; ++step) {
    const double inv_scale = (nmax - 1 + 0.1 * step) / range;
    for (size_t i = 0; i < x.size(); ++i) {
      q[i] = static_cast<uint8_t>(RoundClamp(static_cast<float>(inv_scale * (x[i] - lo)), 0, nmax));
    }
    const std::optional<AffineFit> fit = FitAffineGiven(x, q);
    if (!fit.has_value()) continue;
    const double err = AffineError(x, nmax, fit->scale, fit->min, nullptr);
    if (err < best_err) {
      best_err = err;
      best = *fit;
    }
  }
  // Alternate: nearest quants for the best fit, then the fit for those quants.
  for (int round = 0; round < kRefineRounds; ++round) {
    AffineError(x, nmax, best.scale, best.min, q);
    const std::optional<AffineFit> fit = FitAffineGiven(x, q);
    if (!fit.has_value()) break;
    const double err = AffineError(x, nmax, fit->scale, fit->min, nullptr);
    if (!(err < best_err)) break;
    best_err = err;
    best = *fit;
  }
  return best;
}

float FitSymmetric(std::span<const float> x, int nmax) {
  float amax = 0, max = 0;
  for (float v : x) {
    if (std::fabs(v) > amax) {
      amax = std::fabs(v);
      max = v;
    }
  }
  if (amax < kZeroGroup) return 0.0f;

  float best = -max / nmax;
  double best_err = SymmetricError(x, nmax, best, nullptr);
  int8_t q[kMaxElements];
  // Map the extreme value near -nmax (the longer side) or near nmax - 1.
  for (int side = 0; side < 2; ++side) {
    const double target = side == 0 ? -static_cast<double>(nmax) : nmax - 1.0;
    for (int step = -kGridSteps / 2; step <= kGridSteps / 2; ++step) {
      const double magnitude = std::fabs(target) + 0.1 * step;
      const double inv_scale = (target < 0 ? -magnitude : magnitude) / max;
      for (size_t i = 0; i < x.size(); ++i) {
        q[i] =
            static_cast<int8_t>(RoundClamp(static_cast<float>(inv_scale * x[i]), -nmax, nmax - 1));
      }
      const float scale = FitSymmetricGiven(x, q);
      if (scale == 0) continue;
      const double err = SymmetricError(x, nmax, scale, nullptr);
      if (err < best_err) {
        best_err = err;
        best = scale;
      }
    }
  }
  for (int round = 0; round < kRefineRounds; ++round) {
    SymmetricError(x, nmax, best, q);
    const float scale = FitSymmetricGiven(x, q);
    if (scale == 0) break;
    const double err = SymmetricError(x, nmax, scale, nullptr);
    if (!(err < best_err)) break;
    best_err = err;
    best = scale;
  }
  return best;
}

}  // namespace smollm::runtime
