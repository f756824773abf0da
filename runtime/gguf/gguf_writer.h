// GGUF v3 (or v2) writer: metadata and tensor index in memory, tensor data streamed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/ggml_type.h"
#include "runtime/gguf/gguf_meta_value.h"

namespace smollm::runtime {

struct GgufWriterOptions {
  uint32_t version = 3;                        // 2 or 3 (same layout, 64-bit counts)
  uint32_t alignment = kGgufDefaultAlignment;  // nonzero power of two; when not 32 the
                                               // writer records it as general.alignment
};

class GgufStreamWriter;

// Builds a GGUF file. Metadata is written in the order added; tensors are laid out in the
// order declared, each at an offset aligned to the alignment, each followed by zero
// padding to the alignment (as llama.cpp writes them).
//
// Small files: declare tensors with their data and call ToBytes() or WriteFile(). Large
// files: declare tensors without data (only their shape and type, hence their size), call
// StartFile(), then stream each tensor's bytes in declaration order through the returned
// GgufStreamWriter; only the header is ever held in memory.
//
// Errors: InvalidArgument for bad options, keys, names, shapes and data sizes (each
// naming the key or tensor); AlreadyExists for a duplicate key or tensor name;
// FailedPrecondition when ToBytes/WriteFile meets a tensor without data; I/O failures
// carry the errno's code and the path. Not thread-safe.
class GgufWriter {
 public:
  static absl::StatusOr<GgufWriter> Create(GgufWriterOptions options = {});

  // `key` must be nonempty and new. general.alignment is owned by the options: adding it
  // here is InvalidArgument.
  absl::Status AddMetadata(std::string_view key, GgufMetaValue value);

  // Declares a tensor. `dims` in GGUF order (dims[0] = row length): 1 to 4 nonzero
  // entries whose row is a whole number of `type` blocks and whose size fits 64 bits.
  absl::Status AddTensor(std::string_view name, std::span<const uint64_t> dims, GgmlType type);
  // Declares a tensor and copies its data, which must be exactly its size.
  absl::Status AddTensor(std::string_view name, std::span<const uint64_t> dims, GgmlType type,
                         std::span<const uint8_t> data);

  size_t n_tensors() const { return tensors_.size(); }
  // Size of the header (everything before the data section), aligned.
  uint64_t DataOffset() const;
  // Total file size: data offset plus every tensor padded to the alignment.
  uint64_t FileSize() const;

  // The whole file in memory. FailedPrecondition if a tensor was declared without data.
  absl::StatusOr<std::vector<uint8_t>> ToBytes() const;
  // Same file written to `path` (created or truncated).
  absl::Status WriteFile(const std::string& path) const;
  // Writes the header to `path` and returns a stream for the tensor data. Tensors that
  // were declared with data are written by the stream itself when their turn comes.
  absl::StatusOr<GgufStreamWriter> StartFile(const std::string& path) const;

 private:
  friend class GgufStreamWriter;
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    GgmlType type;
    uint64_t n_bytes;
    uint64_t offset;  // relative to the data section
    std::optional<std::vector<uint8_t>> data;
  };

  explicit GgufWriter(GgufWriterOptions options) : options_(options) {}
  std::vector<uint8_t> EncodeHeader() const;
  uint64_t Padded(uint64_t n) const;

  GgufWriterOptions options_;
  std::vector<std::pair<std::string, GgufMetaValue>> metadata_;
  absl::flat_hash_set<std::string> keys_;
  std::vector<Tensor> tensors_;
  absl::flat_hash_set<std::string> tensor_names_;
  uint64_t data_bytes_ = 0;  // padded size of every tensor declared so far
};

// Streams tensor data after StartFile: the bytes of the tensors, in declaration order, in
// chunks of any size. Move-only; the file is closed by Finish() or, incompletely, by the
// destructor (a stream dropped early leaves a partial file behind). After any error every
// later call fails with FailedPrecondition. The GgufWriter that started it must outlive
// it, unmoved and unchanged.
class GgufStreamWriter {
 public:
  GgufStreamWriter(GgufStreamWriter&& other) noexcept;
  GgufStreamWriter& operator=(GgufStreamWriter&& other) noexcept;
  GgufStreamWriter(const GgufStreamWriter&) = delete;
  GgufStreamWriter& operator=(const GgufStreamWriter&) = delete;
  ~GgufStreamWriter();

  // Name of the tensor the next Append writes to, and how many of its bytes are still
  // due; "" and 0 once every tensor is complete.
  std::string_view current_tensor() const;
  uint64_t current_remaining() const;

  // Appends the next bytes of the current tensor. InvalidArgument when `chunk` is longer
  // than what is left of it (chunks never span two tensors) or no tensor is left.
  absl::Status Append(std::span<const uint8_t> chunk);
  // FailedPrecondition if some tensor is incomplete; otherwise closes the file and
  // reports any error from closing.
  absl::Status Finish();

 private:
  friend class GgufWriter;
  GgufStreamWriter(const GgufWriter* writer, int fd, std::string path)
      : writer_(writer), fd_(fd), path_(std::move(path)) {}
  absl::Status WriteAll(const void* data, size_t n);
  absl::Status CompleteTensor();  // pads, moves on, writes tensors that carry data
  absl::Status Fail(absl::Status status);
  void Close();

  const GgufWriter* writer_;  // must outlive the stream
  int fd_ = -1;
  std::string path_;
  size_t tensor_ = 0;      // index of the current tensor
  uint64_t written_ = 0;   // bytes of it written so far
  absl::Status error_;     // sticky first error
};

}  // namespace smollm::runtime
