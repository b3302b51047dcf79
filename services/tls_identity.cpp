#include "services/tls_identity.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace plantd::services {

namespace {

template <class T, void (*Free)(T*)>
struct freer {
  void operator()(T* p) const { Free(p); }
};
using bio_ptr = std::unique_ptr<BIO, freer<BIO, BIO_free_all>>;
using x509_ptr = std::unique_ptr<X509, freer<X509, X509_free>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, freer<EVP_PKEY, EVP_PKEY_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, freer<X509_EXTENSION, X509_EXTENSION_free>>;

std::string openssl_error() {
  auto e = ERR_get_error();
  if (e == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

expected<std::string, std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  if (!in)
    return unexpected{fmt::format("cannot read {}", p.string())};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string bio_text(BIO* b) {
  char* data = nullptr;
  auto n = BIO_get_mem_data(b, &data);
  return std::string{data, static_cast<std::size_t>(n)};
}

bool is_ip(const std::string& s) {
  return s.find_first_not_of("0123456789.") == std::string::npos
         || s.find(':') != std::string::npos;
}

// A self-signed EC P-256 certificate for `names`, valid for ten years.
expected<std::pair<std::string, std::string>, std::string>
make_identity(const std::vector<std::string>& names) {
  pkey_ptr key{EVP_EC_gen("P-256")};
  if (!key)
    return unexpected{openssl_error()};
  x509_ptr cert{X509_new()};
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  auto* subject = X509_get_subject_name(cert.get());
  auto cn = "plantd " + (names.empty() ? std::string{"unit"} : names.front());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("plantd"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);
  std::string san;
  for (const auto& n : names)
    san += (san.empty() ? "" : ",") + std::string{is_ip(n) ? "IP:" : "DNS:"} + n;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san},
                            std::pair{NID_basic_constraints, std::string{"critical,CA:FALSE"}},
                            std::pair{NID_ext_key_usage, std::string{"serverAuth"}}}) {
    if (value.empty())
      continue;
    ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str())};
    if (!ext)
      return unexpected{fmt::format("certificate extension {}: {}", value, openssl_error())};
    X509_add_ext(cert.get(), ext.get(), -1);
  }
  if (!X509_sign(cert.get(), key.get(), EVP_sha256()))
    return unexpected{openssl_error()};
  bio_ptr cert_out{BIO_new(BIO_s_mem())};
  bio_ptr key_out{BIO_new(BIO_s_mem())};
  if (!PEM_write_bio_X509(cert_out.get(), cert.get())
      || !PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return unexpected{openssl_error()};
  return std::pair{bio_text(cert_out.get()), bio_text(key_out.get())};
}

// Written whole or not at all (temporary file, fsync, rename).
expected<void, std::string> write_file(const std::filesystem::path& p, const std::string& bytes,
                                       mode_t mode) {
  auto tmp = p.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return unexpected{fmt::format("cannot write {}: {}", tmp, std::strerror(errno))};
  bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size())
            && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), p.c_str()) != 0)
    return unexpected{fmt::format("cannot write {}: {}", p.string(), std::strerror(errno))};
  return {};
}

}  // namespace

expected<std::string, std::string> certificate_fingerprint(const std::string& pem) {
  bio_ptr in{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
  x509_ptr cert{PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)};
  if (!cert)
    return unexpected{"not a PEM certificate: " + openssl_error()};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(cert.get(), EVP_sha256(), md, &n))
    return unexpected{openssl_error()};
  std::string out;
  for (unsigned int i = 0; i < n; ++i)
    out += fmt::format("{}{:02X}", i ? ":" : "", md[i]);
  return out;
}

expected<tls_material, std::string> load_tls(const tls_files& files,
                                             const std::filesystem::path& dir,
                                             const std::vector<std::string>& names) {
  tls_material out;
  if (files.cert.empty() != files.key.empty())
    return unexpected{std::string{"give both a TLS certificate and its key, or neither"}};
  if (!files.cert.empty()) {
    auto cert = read_file(files.cert);
    if (!cert)
      return unexpected{cert.error()};
    auto key = read_file(files.key);
    if (!key)
      return unexpected{key.error()};
    out.cert_chain = std::move(cert.value());
    out.private_key = std::move(key.value());
  } else {
    auto cert_path = dir / "server.crt";
    auto key_path = dir / "server.key";
    std::error_code ec;
    if (!std::filesystem::exists(cert_path, ec) || !std::filesystem::exists(key_path, ec)) {
      std::filesystem::create_directories(dir, ec);
      auto made = make_identity(names);
      if (!made)
        return unexpected{"cannot make a TLS certificate: " + made.error()};
      if (auto w = write_file(key_path, made.value().second, 0600); !w)
        return unexpected{w.error()};
      if (auto w = write_file(cert_path, made.value().first, 0644); !w)
        return unexpected{w.error()};
    }
    auto cert = read_file(cert_path);
    if (!cert)
      return unexpected{cert.error()};
    auto key = read_file(key_path);
    if (!key)
      return unexpected{key.error()};
    out.cert_chain = std::move(cert.value());
    out.private_key = std::move(key.value());
  }
  auto fp = certificate_fingerprint(out.cert_chain);
  if (!fp)
    return unexpected{fp.error()};
  out.fingerprint_sha256 = fp.value();
  // The key must be the certificate's (gRPC would only say "handshake failed").
  {
    bio_ptr kin{BIO_new_mem_buf(out.private_key.data(), static_cast<int>(out.private_key.size()))};
    pkey_ptr key{PEM_read_bio_PrivateKey(kin.get(), nullptr, nullptr, nullptr)};
    bio_ptr cin{BIO_new_mem_buf(out.cert_chain.data(), static_cast<int>(out.cert_chain.size()))};
    x509_ptr cert{PEM_read_bio_X509(cin.get(), nullptr, nullptr, nullptr)};
    if (!key)
      return unexpected{std::string{"the TLS key is not a PEM private key"}};
    if (!cert || X509_check_private_key(cert.get(), key.get()) != 1)
      return unexpected{std::string{"the TLS key does not belong to the certificate"}};
  }
  if (!files.client_ca.empty()) {
    auto ca = read_file(files.client_ca);
    if (!ca)
      return unexpected{ca.error()};
    if (auto fp2 = certificate_fingerprint(ca.value()); !fp2)
      return unexpected{files.client_ca + ": " + fp2.error()};
    out.client_ca = std::move(ca.value());
  }
  return out;
}

}  // namespace plantd::services
