// GGUF parsing: header, metadata, tensor infos and the data section, every bound checked.
#include "runtime/gguf/gguf_reader.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/core/checked_math.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_cursor.h"

namespace smollm::runtime {

using gguf_internal::Cat;

using gguf_internal::Cursor;

// Smallest possible encodings, used to bound counts by the bytes left before reserving
// or looping: a metadata entry is a key length (8), a nonempty key (1), a value type (4)
// and a value (1); a tensor info is a name length (8), a nonempty name (1), n_dims (4),
// one dim (8), a type (4) and an offset (8).
constexpr uint64_t kMinKeyValueBytes = 8 + 1 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 1 + 4 + 8 + 4 + 8;
// Reservations from file counts are capped; vectors grow past this only as entries parse.
constexpr uint64_t kMaxReserve = 1 << 16;

class GgufParser {
 public:
  explicit GgufParser(GgufFile& file) : file_(file), cursor_(file.bytes_) {}

  absl::Status Run() {
    RETURN_IF_ERROR(ParseHeader());
    RETURN_IF_ERROR(ParseMetadata());
    RETURN_IF_ERROR(ApplyAlignment());
    RETURN_IF_ERROR(ParseTensorInfos());
    return PlaceTensorData();
  }

 private:
  absl::Status ParseHeader() {
    uint32_t magic = 0;
    RETURN_IF_ERROR(cursor_.Read(&magic, "magic"));
    if (magic != kGgufMagic) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "bad magic 0x%08x at offset 0: not a GGUF file (expected \"GGUF\")", magic));
    }
    RETURN_IF_ERROR(cursor_.Read(&file_.version_, "version"));
    const uint32_t v = file_.version_;
    if (v == 1) {
      return absl::InvalidArgumentError(
          "unsupported GGUF version 1 at offset 4 (32-bit counts): only versions 2 and 3 "
          "are read");
    }
    if (v != 2 && v != 3) {
      const uint32_t swapped = __builtin_bswap32(v);
      return absl::InvalidArgumentError(Cat(
          "unsupported GGUF version ", v, " at offset 4: only versions 2 and 3 are read",
          (swapped == 2 || swapped == 3) ? " (this looks like a big-endian file)" : ""));
    }
    RETURN_IF_ERROR(cursor_.Read(&n_tensors_, "n_tensors"));
    RETURN_IF_ERROR(cursor_.Read(&n_kv_, "n_kv"));
    // Both counts come before either section, so bound them by what is left now.
    if (n_kv_ > cursor_.remaining() / kMinKeyValueBytes) {
      return absl::DataLossError(Cat(
          "n_kv = ", n_kv_, " at offset 16 cannot fit in the ", cursor_.remaining(),
          " bytes after the header (each entry needs at least ", kMinKeyValueBytes, ")"));
    }
    if (n_tensors_ > cursor_.remaining() / kMinTensorInfoBytes) {
      return absl::DataLossError(Cat(
          "n_tensors = ", n_tensors_, " at offset 8 cannot fit in the ", cursor_.remaining(),
          " bytes after the header (each tensor info needs at least ", kMinTensorInfoBytes,
          ")"));
    }
    return absl::OkStatus();
  }

  absl::Status ParseMetadata() {
    file_.metadata_.reserve(std::min(n_kv_, kMaxReserve));
    for (uint64_t i = 0; i < n_kv_; ++i) {
      const uint64_t entry_offset = cursor_.pos();
      std::string_view key;
      RETURN_IF_ERROR(cursor_.ReadString(&key, Cat("metadata entry ", i, " key")));
      if (key.empty()) {
        return absl::InvalidArgumentError(
            Cat("metadata entry ", i, " at offset ", entry_offset, ": empty key"));
      }
      if (file_.key_index_.contains(key)) {
        return absl::InvalidArgumentError(Cat(
            "duplicate metadata key '", key, "' at offset ", entry_offset));
      }
      const std::string field = Cat("metadata '", key, "'");
      const uint64_t type_offset = cursor_.pos();
      uint32_t raw_type = 0;
      RETURN_IF_ERROR(cursor_.Read(&raw_type, Cat(field, " value type")));
      const std::optional<GgufValueType> type = GgufValueTypeFromRaw(raw_type);
      if (!type) {
        return absl::InvalidArgumentError(Cat(field, " at offset ", type_offset,
                                                       ": unknown value type ", raw_type));
      }
      ASSIGN_OR_RETURN(GgufValue value, gguf_internal::ParseValue(cursor_, *type, 0, field));
      file_.key_index_.emplace(key, file_.metadata_.size());
      file_.metadata_.push_back(GgufKeyValue{key, value, entry_offset});
    }
    return absl::OkStatus();
  }

  absl::Status ApplyAlignment() {
    const auto it = file_.key_index_.find(kGgufAlignmentKey);
    if (it == file_.key_index_.end()) return absl::OkStatus();
    const GgufKeyValue& kv = file_.metadata_[it->second];
    if (kv.value.type() != GgufValueType::kUint32) {
      return absl::InvalidArgumentError(
          Cat("metadata '", kGgufAlignmentKey, "' at offset ", kv.file_offset,
                       ": expected uint32, got ", GgufValueTypeName(kv.value.type())));
    }
    const uint32_t alignment = *kv.value.AsUint32();
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
      return absl::InvalidArgumentError(
          Cat("metadata '", kGgufAlignmentKey, "' at offset ", kv.file_offset,
                       ": alignment ", alignment, " is not a nonzero power of two"));
    }
    file_.alignment_ = alignment;
    return absl::OkStatus();
  }

  absl::Status ParseTensorInfos() {
    file_.tensors_.reserve(std::min(n_tensors_, kMaxReserve));
    for (uint64_t i = 0; i < n_tensors_; ++i) {
      GgufTensorInfo info;
      RETURN_IF_ERROR(ParseTensorInfo(i, &info));
      file_.tensor_index_.emplace(info.name, file_.tensors_.size());
      file_.tensors_.push_back(std::move(info));
    }
    return absl::OkStatus();
  }

  absl::Status ParseTensorInfo(uint64_t i, GgufTensorInfo* info) {
    const uint64_t info_offset = cursor_.pos();
    RETURN_IF_ERROR(cursor_.ReadString(&info->name, Cat("tensor ", i, " name")));
    if (info->name.empty()) {
      return absl::InvalidArgumentError(
          Cat("tensor ", i, " at offset ", info_offset, ": empty name"));
    }
    if (file_.tensor_index_.contains(info->name)) {
      return absl::InvalidArgumentError(Cat("duplicate tensor name '", info->name,
                                                     "' at offset ", info_offset));
    }
    const std::string field = Cat("tensor '", info->name, "'");
    const auto invalid = [&](uint64_t offset, const auto&... what) {
      return absl::InvalidArgumentError(Cat(field, " at offset ", offset, ": ", what...));
    };

    uint64_t offset = cursor_.pos();
    uint32_t n_dims = 0;
    RETURN_IF_ERROR(cursor_.Read(&n_dims, Cat(field, " n_dims")));
    if (n_dims == 0 || n_dims > kGgufMaxDims) {
      return invalid(offset, "n_dims = ", n_dims, " is not in 1..", kGgufMaxDims);
    }
    info->dims.resize(n_dims);
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      offset = cursor_.pos();
      RETURN_IF_ERROR(cursor_.Read(&info->dims[d], Cat(field, " dims[", d, "]")));
      if (info->dims[d] == 0) return invalid(offset, "dims[", d, "] is zero");
      const std::optional<uint64_t> product = CheckedMul(n_elements, info->dims[d]);
      // ggml counts elements in int64, so the product must fit there too.
      if (!product || *product > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return invalid(offset, "element count overflows at dims[", d, "] = ", info->dims[d]);
      }
      n_elements = *product;
    }
    info->n_elements = n_elements;

    offset = cursor_.pos();
    uint32_t raw_type = 0;
    RETURN_IF_ERROR(cursor_.Read(&raw_type, Cat(field, " type")));
    const std::optional<GgmlTypeTraits> traits = TraitsOf(raw_type);
    if (!traits) return invalid(offset, "unknown tensor type ", raw_type);
    info->type = static_cast<GgmlType>(raw_type);
    if (info->dims[0] % traits->block_elements != 0) {
      return invalid(offset, "row length dims[0] = ", info->dims[0],
                     " is not a whole number of ", traits->name, " blocks of ",
                     traits->block_elements);
    }
    const std::optional<uint64_t> row_bytes = RowBytes(info->type, info->dims[0]);
    const std::optional<uint64_t> n_bytes =
        row_bytes ? CheckedMul(*row_bytes, n_elements / info->dims[0]) : std::nullopt;
    if (!n_bytes) return invalid(offset, "byte size of ", n_elements, " ", traits->name,
                                 " elements overflows");
    info->n_bytes = *n_bytes;

    offset = cursor_.pos();
    RETURN_IF_ERROR(cursor_.Read(&info->offset, Cat(field, " offset")));
    if (info->offset % file_.alignment_ != 0) {
      return invalid(offset, "data offset ", info->offset, " is not a multiple of the alignment ",
                     file_.alignment_);
    }
    return absl::OkStatus();
  }

  absl::Status PlaceTensorData() {
    const uint64_t infos_end = cursor_.pos();
    const uint64_t size = cursor_.size();
    // infos_end <= size < 2^63 and alignment < 2^32: this cannot overflow.
    file_.data_offset_ = *CheckedAlignUp(infos_end, file_.alignment_);
    if (file_.tensors_.empty()) return absl::OkStatus();
    if (file_.data_offset_ > size) {
      return absl::DataLossError(Cat(
          "truncated file: data section at offset ", file_.data_offset_,
          " (end of tensor infos ", infos_end, " aligned to ", file_.alignment_,
          ") starts past the end of the file (", size, " bytes)"));
    }
    const uint64_t data_bytes = size - file_.data_offset_;
    for (GgufTensorInfo& info : file_.tensors_) {
      const std::optional<uint64_t> end = CheckedAdd(info.offset, info.n_bytes);
      if (!end || *end > data_bytes) {
        return absl::DataLossError(Cat(
            "truncated file: tensor '", info.name, "' data at data offset ", info.offset,
            " (file offset ", file_.data_offset_ + std::min(info.offset, data_bytes),
            "+) with ", info.n_bytes, " bytes runs past the end of the file (", size,
            " bytes, data section at ", file_.data_offset_, ")"));
      }
      info.data = file_.bytes_.subspan(file_.data_offset_ + info.offset, info.n_bytes);
    }
    // Overlap check in offset order.
    std::vector<size_t> order(file_.tensors_.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return file_.tensors_[a].offset < file_.tensors_[b].offset;
    });
    for (size_t k = 1; k < order.size(); ++k) {
      const GgufTensorInfo& prev = file_.tensors_[order[k - 1]];
      const GgufTensorInfo& cur = file_.tensors_[order[k]];
      if (cur.offset < prev.offset + prev.n_bytes) {
        return absl::InvalidArgumentError(Cat(
            "tensor '", cur.name, "' data at file offset ", file_.data_offset_ + cur.offset,
            " overlaps tensor '", prev.name, "' [", file_.data_offset_ + prev.offset, ", ",
            file_.data_offset_ + prev.offset + prev.n_bytes, ")"));
      }
    }
    return absl::OkStatus();
  }

  GgufFile& file_;
  Cursor cursor_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

absl::StatusOr<GgufFile> GgufFile::Parse(std::span<const uint8_t> bytes) {
  GgufFile file;
  file.bytes_ = bytes;
  GgufParser parser(file);
  RETURN_IF_ERROR(parser.Run());
  return file;
}

absl::StatusOr<GgufFile> GgufFile::Open(const std::string& path) {
  ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::Open(path));
  auto mapping = std::make_unique<MappedFile>(std::move(mapped));
  const std::span<const uint8_t> bytes = mapping->bytes();
  absl::StatusOr<GgufFile> file = Parse(bytes);
  if (!file.ok()) {
    return absl::Status(file.status().code(),
                        Cat(path, ": ", file.status().message()));
  }
  file->mapping_ = std::move(mapping);
  return file;
}

// ---- Lookup ----

const GgufValue* GgufFile::FindValue(std::string_view key) const {
  const auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].value;
}

absl::StatusOr<GgufValue> GgufFile::GetValue(std::string_view key) const {
  const GgufValue* value = FindValue(key);
  if (value == nullptr) {
    return absl::NotFoundError(Cat("metadata key '", key, "' not found"));
  }
  return *value;
}

namespace {

// Runs `get` on the value of `key`, prefixing the key to any error it returns.
template <typename Get>
auto GetTyped(const GgufFile& file, std::string_view key, Get get)
    -> decltype(get(std::declval<const GgufValue&>())) {
  ASSIGN_OR_RETURN(GgufValue value, file.GetValue(key));
  auto result = get(value);
  if (!result.ok()) {
    return absl::Status(result.status().code(), Cat("metadata key '", key, "': ",
                                                             result.status().message()));
  }
  return result;
}

template <typename ArrayGet>
auto GetArrayTyped(const GgufFile& file, std::string_view key, ArrayGet get)
    -> decltype(get(std::declval<const GgufArray&>())) {
  return GetTyped(file, key, [&](const GgufValue& v) -> decltype(get(std::declval<const GgufArray&>())) {
    ASSIGN_OR_RETURN(GgufArray array, v.AsArray());
    return get(array);
  });
}

}  // namespace

absl::StatusOr<std::string_view> GgufFile::GetString(std::string_view key) const {
  return GetTyped(*this, key, [](const GgufValue& v) { return v.AsString(); });
}
absl::StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  return GetTyped(*this, key, [](const GgufValue& v) { return v.AsBool(); });
}
absl::StatusOr<uint32_t> GgufFile::GetUint32(std::string_view key) const {
  return GetTyped(*this, key, [](const GgufValue& v) { return v.AsUint32(); });
}
absl::StatusOr<int32_t> GgufFile::GetInt32(std::string_view key) const {
  return GetTyped(*this, key, [](const GgufValue& v) { return v.AsInt32(); });
}
absl::StatusOr<uint64_t> GgufFile::GetUint64(std::string_view key) const {
  return GetTyped(*this, key, [](const GgufValue& v) { return v.AsUint64(); });
}
absl::StatusOr<int64_t> GgufFile::GetInt64(std::string_view key) const {
  return GetTyped(*this, key, [](const GgufValue& v) { return v.AsInt64(); });
}
absl::StatusOr<float> GgufFile::GetFloat32(std::string_view key) const {
  return GetTyped(*this, key, [](const GgufValue& v) { return v.AsFloat32(); });
}
absl::StatusOr<double> GgufFile::GetFloat64(std::string_view key) const {
  return GetTyped(*this, key, [](const GgufValue& v) { return v.AsFloat64(); });
}
absl::StatusOr<GgufArray> GgufFile::GetArray(std::string_view key) const {
  return GetTyped(*this, key, [](const GgufValue& v) { return v.AsArray(); });
}
absl::StatusOr<std::vector<std::string_view>> GgufFile::GetStringArray(
    std::string_view key) const {
  return GetArrayTyped(*this, key, [](const GgufArray& a) { return a.Strings(); });
}
absl::StatusOr<std::vector<float>> GgufFile::GetFloat32Array(std::string_view key) const {
  return GetArrayTyped(*this, key, [](const GgufArray& a) { return a.Float32s(); });
}
absl::StatusOr<std::vector<int32_t>> GgufFile::GetInt32Array(std::string_view key) const {
  return GetArrayTyped(*this, key, [](const GgufArray& a) { return a.Int32s(); });
}
absl::StatusOr<std::vector<uint32_t>> GgufFile::GetUint32Array(std::string_view key) const {
  return GetArrayTyped(*this, key, [](const GgufArray& a) { return a.Uint32s(); });
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

absl::StatusOr<const GgufTensorInfo*> GgufFile::GetTensor(std::string_view name) const {
  const GgufTensorInfo* info = FindTensor(name);
  if (info == nullptr) return absl::NotFoundError(Cat("tensor '", name, "' not found"));
  return info;
}

}  // namespace smollm::runtime
