// Test helper: dequantizes every tensor of a GGUF with our scalar reference and writes
// each as raw little-endian float32 (<out_dir>/<index>.f32), listed in <out_dir>/index.tsv
// as "index<TAB>name<TAB>type<TAB>elements", for the Python conformance check.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/core/status.h"
#include "runtime/gguf/gguf_reader.h"
#include "runtime/quant/dequantize.h"

namespace smollm::runtime {
namespace {

absl::Status Dump(const std::string& model, const std::string& out_dir) {
  ASSIGN_OR_RETURN(GgufFile file, GgufFile::Open(model));
  std::ofstream index(out_dir + "/index.tsv");
  if (!index) return absl::NotFoundError(absl::StrCat("cannot write ", out_dir, "/index.tsv"));
  std::vector<float> values;
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const GgufTensorInfo& t = file.tensors()[i];
    values.resize(t.n_elements);
    RETURN_IF_ERROR(DequantizeRow(t.type, t.data, values));
    const std::string path = absl::StrCat(out_dir, "/", i, ".f32");
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(values.data()),
              static_cast<std::streamsize>(values.size() * sizeof(float)));
    if (!out) return absl::DataLossError(absl::StrCat("cannot write ", path));
    index << i << '\t' << std::string(t.name) << '\t' << std::string(NameOf(t.type)) << '\t'
          << t.n_elements << '\n';
  }
  index.close();
  if (!index) return absl::DataLossError(absl::StrCat("cannot write ", out_dir, "/index.tsv"));
  return absl::OkStatus();
}

}  // namespace
}  // namespace smollm::runtime

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.gguf OUT_DIR\n", argv[0]);
    return 2;
  }
  if (absl::Status s = smollm::runtime::Dump(argv[1], argv[2]); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
