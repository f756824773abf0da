// GGUF v2/v3 reader: header, metadata and tensor index over a mapped or borrowed buffer.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/ggml_type.h"
#include "runtime/core/mapped_file.h"
#include "runtime/gguf/gguf_types.h"
#include "runtime/gguf/gguf_value.h"

namespace smollm::runtime {

// One metadata entry, in file order.
struct GgufKeyValue {
  std::string_view key;  // points into the parsed bytes
  GgufValue value;
  uint64_t file_offset = 0;  // byte offset of the entry (its key length field)
};

// One entry of the tensor index.
struct GgufTensorInfo {
  std::string_view name;  // points into the parsed bytes
  // GGUF order: dims[0] is the row length (the innermost, contiguous dimension); a weight
  // of shape [in, out] is `out` rows of `in` elements. 1 to 4 entries, each nonzero.
  std::vector<uint64_t> dims;
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;      // relative to the start of the data section; aligned
  uint64_t n_elements = 0;  // product of dims
  uint64_t n_bytes = 0;     // RowBytes(type, dims[0]) * (n_elements / dims[0])
  std::span<const uint8_t> data;  // the n_bytes of this tensor, inside the parsed bytes

  uint64_t n_rows() const { return dims.empty() ? 0 : n_elements / dims[0]; }
};

// A parsed GGUF file. Immutable after Parse/Open; const methods are safe to call from
// any number of threads. Move-only (it may own the mapping); string_views, spans and
// GgufValues it hands out stay valid as long as the bytes do: for Open, as long as this
// object (or the object it was moved into) lives; for Parse, as long as the caller's
// buffer does.
//
// Errors from Parse/Open (each message names the field and its byte offset):
//   DataLoss        - anything that needs bytes past the end of the buffer: truncation
//                     inside any field, a string/array/count that could not fit in the
//                     bytes left, a data section or tensor data that ends past the end.
//                     So any prefix of a valid file that ends before its last tensor's
//                     data does gives DataLoss (trailing padding alone is not needed).
//   InvalidArgument - malformed content inside the buffer: bad magic, unsupported version
//                     (1: 32-bit counts, or anything but 2 and 3), unknown value or tensor
//                     type, duplicate keys or tensor names, empty key or tensor name,
//                     n_dims not in 1..4, a zero dim, element counts or byte sizes that
//                     overflow 64 bits, rows that are not whole blocks, general.alignment
//                     that is not a nonzero power-of-two uint32, an unaligned tensor
//                     offset, overlapping tensor data, arrays nested deeper than
//                     kGgufMaxArrayDepth.
//   Open prefixes "<path>: " to these and adds MappedFile's errors (NotFound,
//   PermissionDenied, ...).
// Nothing here aborts, and no allocation is sized by a count read from the file before
// the bytes it claims have been seen.
class GgufFile {
 public:
  // Maps `path` and parses it; the result owns the mapping.
  static absl::StatusOr<GgufFile> Open(const std::string& path);
  // Parses `bytes`, which must outlive the result (nothing is copied).
  static absl::StatusOr<GgufFile> Parse(std::span<const uint8_t> bytes);

  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;
  ~GgufFile() = default;

  uint32_t version() const { return version_; }  // 2 or 3
  uint32_t alignment() const { return alignment_; }
  // Absolute offset of the data section: the aligned end of the tensor infos. For a file
  // without tensors it may equal the file size (or lie past it, as llama.cpp tolerates).
  uint64_t data_offset() const { return data_offset_; }
  std::span<const uint8_t> bytes() const { return bytes_; }  // the whole file

  // ---- Metadata ----
  const std::vector<GgufKeyValue>& metadata() const { return metadata_; }  // file order
  bool HasKey(std::string_view key) const { return key_index_.contains(key); }
  // nullptr when absent. O(1).
  const GgufValue* FindValue(std::string_view key) const;
  // NotFound "metadata key 'k' not found" when absent.
  absl::StatusOr<GgufValue> GetValue(std::string_view key) const;

  // Typed getters: NotFound naming the key when absent; InvalidArgument
  // "metadata key 'k': expected <type>, got <type>" on a type mismatch, or naming the
  // value when an integer does not fit. See GgufValue for the conversions accepted.
  absl::StatusOr<std::string_view> GetString(std::string_view key) const;
  absl::StatusOr<bool> GetBool(std::string_view key) const;
  absl::StatusOr<uint32_t> GetUint32(std::string_view key) const;
  absl::StatusOr<int32_t> GetInt32(std::string_view key) const;
  absl::StatusOr<uint64_t> GetUint64(std::string_view key) const;
  absl::StatusOr<int64_t> GetInt64(std::string_view key) const;
  absl::StatusOr<float> GetFloat32(std::string_view key) const;
  absl::StatusOr<double> GetFloat64(std::string_view key) const;
  absl::StatusOr<GgufArray> GetArray(std::string_view key) const;
  // Shorthands for GetArray(key) then the GgufArray accessor, with the key in errors.
  absl::StatusOr<std::vector<std::string_view>> GetStringArray(std::string_view key) const;
  absl::StatusOr<std::vector<float>> GetFloat32Array(std::string_view key) const;
  absl::StatusOr<std::vector<int32_t>> GetInt32Array(std::string_view key) const;
  absl::StatusOr<std::vector<uint32_t>> GetUint32Array(std::string_view key) const;

  // ---- Tensors ----
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // file order
  // nullptr when absent. O(1).
  const GgufTensorInfo* FindTensor(std::string_view name) const;
  // NotFound "tensor 'name' not found" when absent.
  absl::StatusOr<const GgufTensorInfo*> GetTensor(std::string_view name) const;

 private:
  GgufFile() = default;
  friend class GgufParser;

  // Owns the mapping for Open; unique_ptr keeps the bytes' address stable across moves
  // (they are stable anyway for mmap, but this also holds for any future owner).
  std::unique_ptr<MappedFile> mapping_;
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<GgufKeyValue> metadata_;
  absl::flat_hash_map<std::string_view, size_t> key_index_;  // key -> metadata_ index
  std::vector<GgufTensorInfo> tensors_;
  absl::flat_hash_map<std::string_view, size_t> tensor_index_;  // name -> tensors_ index
};

}  // namespace smollm::runtime
