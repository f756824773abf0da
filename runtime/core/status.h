// Status propagation macros: Abseil 20220623 ships none publicly, so these two are ours.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SMOLLM_STATUS_CONCAT_INNER(a, b) a##b
#define SMOLLM_STATUS_CONCAT(a, b) SMOLLM_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status smollm_status_ = (expr);            \
    if (!smollm_status_.ok()) return smollm_status_;   \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, StatusOrExpr())`: binds the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  SMOLLM_ASSIGN_OR_RETURN_IMPL(SMOLLM_STATUS_CONCAT(smollm_statusor_, __LINE__), lhs, expr)

#define SMOLLM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()
