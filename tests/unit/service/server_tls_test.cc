// TLS: a server given --tls_cert/--tls_key serves over TLS only.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "service/server.h"
#include "smollm/v1/inference.grpc.pb.h"

namespace smollm::service {
namespace {

struct PemPair {
  std::string cert, key;
};

std::string ToPem(int (*write)(BIO*, void*), void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  write(bio, object);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

// A fresh self-signed certificate for "localhost".
PemPair SelfSigned() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name,
                                            const_cast<char*>("DNS:localhost"));
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  PemPair out;
  out.cert = ToPem([](BIO* b, void* x) { return PEM_write_bio_X509(b, static_cast<X509*>(x)); },
                   cert);
  out.key = ToPem(
      [](BIO* b, void* k) {
        return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0,
                                        nullptr, nullptr);
      },
      key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/smollm_tls_XXXXXX";
  const int fd = mkstemp(path);
  std::ofstream(path) << text;
  close(fd);
  return path;
}

TEST(ServerTlsTest, ServesOverTlsOnly) {
  const PemPair pem = SelfSigned();
  ServerOptions options;
  options.model_path = "unused.gguf";
  options.host = "127.0.0.1";
  options.port = 0;
  options.tls_cert = WriteTemp(pem.cert);
  options.tls_key = WriteTemp(pem.key);
  const ApiKeys keys = ApiKeys::FromKeys({});
  CallObserver observer(nullptr);
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, keys, observer);
  std::remove(options.tls_cert.c_str());
  std::remove(options.tls_key.c_str());
  ASSERT_TRUE(server.ok()) << server.status();
  auto serving = std::make_unique<ServingContext>();
  serving->model_info.set_name("tls-check");
  (*server)->SetReady(std::move(serving));
  const std::string target = "127.0.0.1:" + std::to_string((*server)->port());

  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem.cert;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto secure = v1::Inference::NewStub(
      grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args));
  v1::ModelInfo info;
  grpc::ClientContext c1;
  c1.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  const grpc::Status ok = secure->GetModelInfo(&c1, {}, &info);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(info.name(), "tls-check");

  auto plain = v1::Inference::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext c2;
  c2.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(plain->GetModelInfo(&c2, {}, &info).ok());

  // Unreadable files are an error at start, naming the flag.
  options.tls_cert = "/nonexistent/cert.pem";
  absl::StatusOr<std::unique_ptr<Server>> bad = Server::Start(options, keys, observer);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("--tls_cert"), std::string::npos);
}

}  // namespace
}  // namespace smollm::service
