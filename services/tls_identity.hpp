// plantd's TLS identity: the certificate and key given by the installer, or
// one plantd makes at its first start (self-signed, EC P-256, kept in the
// data directory) so that a fresh site never serves plain text on its
// network. Its SHA-256 fingerprint is logged at start (the journal on the
// unit): an installer compares it with the one a client sees in the
// handshake (openssl s_client, a browser) before trusting the certificate,
// then keeps the certificate (plantctl --ca). GetInfo shows it too, once
// trusted, for inventories.
#pragma once

#include <filesystem>
#include <string>

#include "model/common/expected.hpp"
#include "services/server.hpp"

namespace plantd::services {

struct tls_files {
  std::string cert;       // PEM certificate chain; empty: plantd's own
  std::string key;        // PEM private key (with cert)
  std::string client_ca;  // PEM CA of client certificates; empty: no mTLS
};

// Reads the given files, or makes (once) and reads plantd's own in
// `dir` (server.crt, server.key 0600). `names`: DNS names and IP addresses
// the made certificate is valid for.
expected<tls_material, std::string> load_tls(const tls_files& files,
                                             const std::filesystem::path& dir,
                                             const std::vector<std::string>& names);

// "AB:CD:..." of the SHA-256 of the first certificate in `pem`.
expected<std::string, std::string> certificate_fingerprint(const std::string& pem);

}  // namespace plantd::services
