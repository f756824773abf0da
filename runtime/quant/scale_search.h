// Scale searches shared by the K-quant reference quantizers: least-squares fits of a
// sub-block's scale (and min) over a grid of starting points, refined by alternating
// re-quantization and re-fitting. All errors are plain (unweighted) squared errors of
// the values as the dequantizer will compute them.
#pragma once

#include <cstdint>
#include <span>

namespace smollm::runtime {

// Rounds to the nearest integer (ties to even) and clamps to [lo, hi]. NaN gives lo and
// +-inf the matching bound, so degenerate scales never reach an undefined conversion.
int RoundClamp(float v, int lo, int hi);

// v itself when it rounds to a finite fp16, else +-65504: scales saturate rather than
// become infinite for inputs beyond a format's range.
float ClampToFp16Range(float v);

// value = scale * q - min, q in [0, nmax], scale >= 0, min >= 0 (Q4_K, Q5_K sub-blocks).
struct AffineFit {
  float scale;
  float min;
};

// Searches (scale, min) minimising the squared error of x (finite values). A block whose
// values are all equal and <= 0 gets scale 0 and min = -value (exact).
AffineFit FitAffine(std::span<const float> x, int nmax);

// Squared error of x when each value takes its nearest q under (scale, min), computed as
// float(scale * q) - min like the dequantizer. Writes the chosen q to `q` (x.size()
// entries) when it is not null.
double AffineError(std::span<const float> x, int nmax, float scale, float min, uint8_t* q);

// value = scale * q, q in [-nmax, nmax - 1] (Q6_K sub-blocks: nmax = 32). The sign of
// the scale is free, so the extreme value can use the longer negative side. Returns 0
// for an all-(near-)zero sub-block.
float FitSymmetric(std::span<const float> x, int nmax);

// Squared error of x under `scale` with each q nearest; writes q when not null.
double SymmetricError(std::span<const float> x, int nmax, float scale, int8_t* q);

}  // namespace smollm::runtime
