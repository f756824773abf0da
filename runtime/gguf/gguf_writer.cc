// GGUF writer: header encoding, in-memory output and streamed tensor data.
#include "runtime/gguf/gguf_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "runtime/core/checked_math.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_cursor.h"

namespace smollm::runtime {

using gguf_internal::Cat;

namespace {

absl::Status ErrnoStatus(int err, std::string_view what, const std::string& path) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      Cat(what, " '", path, "' failed: ", std::strerror(err)));
}

constexpr uint8_t kZeros[256] = {};

}  // namespace

absl::StatusOr<GgufWriter> GgufWriter::Create(GgufWriterOptions options) {
  if (options.version != 2 && options.version != 3) {
    return absl::InvalidArgumentError(
        Cat("GGUF version ", options.version, " cannot be written: only 2 and 3"));
  }
  const uint32_t a = options.alignment;
  if (a == 0 || (a & (a - 1)) != 0) {
    return absl::InvalidArgumentError(Cat("alignment ", a, " is not a nonzero power of two"));
  }
  GgufWriter writer(options);
  if (a != kGgufDefaultAlignment) {
    writer.metadata_.emplace_back(std::string(kGgufAlignmentKey), GgufMetaValue::Uint32(a));
    writer.keys_.insert(std::string(kGgufAlignmentKey));
  }
  return writer;
}

absl::Status GgufWriter::AddMetadata(std::string_view key, GgufMetaValue value) {
  if (key.empty()) return absl::InvalidArgumentError("empty metadata key");
  if (key == kGgufAlignmentKey) {
    return absl::InvalidArgumentError(
        Cat("metadata key '", key, "' is set through GgufWriterOptions::alignment"));
  }
  if (value.depth() > kGgufMaxArrayDepth) {
    return absl::InvalidArgumentError(Cat("metadata key '", key, "': arrays nested too deep"));
  }
  if (!keys_.insert(std::string(key)).second) {
    return absl::AlreadyExistsError(Cat("duplicate metadata key '", key, "'"));
  }
  metadata_.emplace_back(std::string(key), std::move(value));
  return absl::OkStatus();
}

absl::Status GgufWriter::AddTensor(std::string_view name, std::span<const uint64_t> dims,
                                   GgmlType type) {
  const auto invalid = [&](const auto&... what) {
    return absl::InvalidArgumentError(Cat("tensor '", name, "': ", what...));
  };
  if (name.empty()) return absl::InvalidArgumentError("empty tensor name");
  if (tensor_names_.contains(gguf_internal::Sv(name))) {
    return absl::AlreadyExistsError(Cat("duplicate tensor name '", name, "'"));
  }
  if (dims.empty() || dims.size() > kGgufMaxDims) {
    return invalid(dims.size(), " dims; 1 to ", kGgufMaxDims, " are allowed");
  }
  uint64_t n_elements = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 0) return invalid("dims[", d, "] is zero");
    const std::optional<uint64_t> product = CheckedMul(n_elements, dims[d]);
    if (!product || *product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return invalid("element count overflows");
    }
    n_elements = *product;
  }
  const std::optional<uint64_t> row_bytes = RowBytes(type, dims[0]);
  if (!row_bytes) {
    return invalid("row length ", dims[0], " is not a whole number of ", NameOf(type),
                   " blocks of ", TraitsOf(type).block_elements);
  }
  const std::optional<uint64_t> n_bytes = CheckedMul(*row_bytes, n_elements / dims[0]);
  const std::optional<uint64_t> padded =
      n_bytes ? CheckedAlignUp(*n_bytes, options_.alignment) : std::nullopt;
  const std::optional<uint64_t> total = padded ? CheckedAdd(data_bytes_, *padded) : std::nullopt;
  if (!total) return invalid("byte size overflows");

  tensor_names_.insert(std::string(name));
  tensors_.push_back(Tensor{std::string(name), std::vector<uint64_t>(dims.begin(), dims.end()),
                            type, *n_bytes, data_bytes_, std::nullopt});
  data_bytes_ = *total;
  return absl::OkStatus();
}

absl::Status GgufWriter::AddTensor(std::string_view name, std::span<const uint64_t> dims,
                                   GgmlType type, std::span<const uint8_t> data) {
  RETURN_IF_ERROR(AddTensor(name, dims, type));
  Tensor& t = tensors_.back();
  if (data.size() != t.n_bytes) {
    const uint64_t expected = t.n_bytes;
    data_bytes_ = t.offset;  // undo the declaration
    tensor_names_.erase(t.name);
    tensors_.pop_back();
    return absl::InvalidArgumentError(Cat("tensor '", name, "': ", data.size(),
                                          " bytes of data given, its shape needs ", expected));
  }
  t.data.emplace(data.begin(), data.end());
  return absl::OkStatus();
}

uint64_t GgufWriter::Padded(uint64_t n) const {
  return *CheckedAlignUp(n, options_.alignment);  // sizes were checked when declared
}

std::vector<uint8_t> GgufWriter::EncodeHeader() const {
  std::vector<uint8_t> out;
  GgufAppendU32(out, kGgufMagic);
  GgufAppendU32(out, options_.version);
  GgufAppendU64(out, tensors_.size());
  GgufAppendU64(out, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    GgufAppendString(out, key);
    GgufAppendU32(out, static_cast<uint32_t>(value.type()));
    out.insert(out.end(), value.encoded().begin(), value.encoded().end());
  }
  for (const Tensor& t : tensors_) {
    GgufAppendString(out, t.name);
    GgufAppendU32(out, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) GgufAppendU64(out, d);
    GgufAppendU32(out, static_cast<uint32_t>(t.type));
    GgufAppendU64(out, t.offset);
  }
  out.resize(Padded(out.size()), 0);
  return out;
}

uint64_t GgufWriter::DataOffset() const { return EncodeHeader().size(); }

uint64_t GgufWriter::FileSize() const { return DataOffset() + data_bytes_; }

absl::StatusOr<std::vector<uint8_t>> GgufWriter::ToBytes() const {
  std::vector<uint8_t> out = EncodeHeader();
  const uint64_t data_offset = out.size();
  out.reserve(data_offset + data_bytes_);
  for (const Tensor& t : tensors_) {
    if (!t.data) {
      return absl::FailedPreconditionError(
          Cat("tensor '", t.name, "' was declared without data; stream it with StartFile"));
    }
    out.insert(out.end(), t.data->begin(), t.data->end());
    out.resize(data_offset + t.offset + Padded(t.n_bytes), 0);
  }
  return out;
}

absl::Status GgufWriter::WriteFile(const std::string& path) const {
  for (const Tensor& t : tensors_) {
    if (!t.data) {
      return absl::FailedPreconditionError(
          Cat("tensor '", t.name, "' was declared without data; stream it with StartFile"));
    }
  }
  ASSIGN_OR_RETURN(GgufStreamWriter stream, StartFile(path));
  return stream.Finish();  // StartFile wrote every tensor, since all carry data
}

absl::StatusOr<GgufStreamWriter> GgufWriter::StartFile(const std::string& path) const {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(errno, "opening", path);
  GgufStreamWriter stream(this, fd, path);
  const std::vector<uint8_t> header = EncodeHeader();
  RETURN_IF_ERROR(stream.WriteAll(header.data(), header.size()));
  stream.tensor_ = 0;
  // Write any leading tensors that carry their data.
  if (!tensors_.empty() && tensors_[0].data) {
    stream.written_ = 0;
    RETURN_IF_ERROR(stream.Append(*tensors_[0].data));
  }
  return stream;
}

// ---- GgufStreamWriter ----

GgufStreamWriter::GgufStreamWriter(GgufStreamWriter&& other) noexcept
    : writer_(other.writer_),
      fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      tensor_(other.tensor_),
      written_(other.written_),
      error_(std::move(other.error_)) {}

GgufStreamWriter& GgufStreamWriter::operator=(GgufStreamWriter&& other) noexcept {
  if (this != &other) {
    Close();
    writer_ = other.writer_;
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    tensor_ = other.tensor_;
    written_ = other.written_;
    error_ = std::move(other.error_);
  }
  return *this;
}

GgufStreamWriter::~GgufStreamWriter() { Close(); }

void GgufStreamWriter::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string_view GgufStreamWriter::current_tensor() const {
  return tensor_ < writer_->tensors_.size() ? std::string_view(writer_->tensors_[tensor_].name)
                                            : std::string_view();
}

uint64_t GgufStreamWriter::current_remaining() const {
  return tensor_ < writer_->tensors_.size() ? writer_->tensors_[tensor_].n_bytes - written_ : 0;
}

absl::Status GgufStreamWriter::Fail(absl::Status status) {
  if (error_.ok()) error_ = status;
  return status;
}

absl::Status GgufStreamWriter::WriteAll(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrnoStatus(errno, "writing", path_));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

absl::Status GgufStreamWriter::Append(std::span<const uint8_t> chunk) {
  if (!error_.ok()) {
    return absl::FailedPreconditionError(Cat("an earlier write failed: ", error_.message()));
  }
  if (fd_ < 0) return absl::FailedPreconditionError("the stream is closed");
  if (tensor_ >= writer_->tensors_.size()) {
    if (chunk.empty()) return absl::OkStatus();
    return Fail(absl::InvalidArgumentError(
        Cat(chunk.size(), " bytes appended after the last tensor was complete")));
  }
  if (chunk.size() > current_remaining()) {
    return Fail(absl::InvalidArgumentError(
        Cat("tensor '", current_tensor(), "': ", chunk.size(), " bytes appended but only ",
            current_remaining(), " of its ", writer_->tensors_[tensor_].n_bytes,
            " bytes are left")));
  }
  RETURN_IF_ERROR(WriteAll(chunk.data(), chunk.size()));
  written_ += chunk.size();
  if (current_remaining() == 0) return CompleteTensor();
  return absl::OkStatus();
}

absl::Status GgufStreamWriter::CompleteTensor() {
  const std::vector<GgufWriter::Tensor>& tensors = writer_->tensors_;
  while (tensor_ < tensors.size() && written_ == tensors[tensor_].n_bytes) {
    uint64_t pad = writer_->Padded(written_) - written_;
    while (pad > 0) {
      const size_t n = std::min<uint64_t>(pad, sizeof(kZeros));
      RETURN_IF_ERROR(WriteAll(kZeros, n));
      pad -= n;
    }
    ++tensor_;
    written_ = 0;
    // A tensor declared with its data is written here, when its turn comes.
    if (tensor_ < tensors.size() && tensors[tensor_].data) {
      const std::vector<uint8_t>& data = *tensors[tensor_].data;
      RETURN_IF_ERROR(WriteAll(data.data(), data.size()));
      written_ = data.size();
    }
  }
  return absl::OkStatus();
}

absl::Status GgufStreamWriter::Finish() {
  if (!error_.ok()) {
    return absl::FailedPreconditionError(Cat("an earlier write failed: ", error_.message()));
  }
  if (fd_ < 0) return absl::FailedPreconditionError("the stream is closed");
  if (tensor_ < writer_->tensors_.size()) {
    return absl::FailedPreconditionError(
        Cat("tensor '", current_tensor(), "' still needs ", current_remaining(), " bytes (",
            writer_->tensors_.size() - tensor_, " tensors incomplete)"));
  }
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) return Fail(ErrnoStatus(errno, "closing", path_));
  return absl::OkStatus();
}

}  // namespace smollm::runtime
