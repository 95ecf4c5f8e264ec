#include "replica/engine/liveness.h"

#include <unistd.h>

#include "base/status.h"
#include "fmt/format.h"

namespace litesync {

LivenessWriter::LivenessWriter(absl::Duration interval, std::string host)
    : interval_(interval), host_(std::move(host)) {}

void LivenessWriter::NoteFile(const TxFileInfo& info) {
  if (file_ && file_->lineage == info.lineage && info.max_txid < file_->max_txid) return;
  file_ = info;
}

absl::Time LivenessWriter::due() const {
  if (!enabled() || !file_) return absl::InfiniteFuture();
  return last_ == absl::InfinitePast() ? absl::InfinitePast() : last_ + interval_;
}

absl::Status LivenessWriter::MaybeWrite(ReplicaClient& client, absl::Time now) {
  if (now < due()) return absl::OkStatus();
  LivenessRecord r;
  r.lineage = file_->lineage;
  r.txid = file_->max_txid;
  r.file = *file_;
  r.confirmed = now;
  r.host = host_;
  LS_RETURN_IF_ERROR(Annotate(client.WriteRecord(kLivenessRecord, EncodeLiveness(r)),
                              fmt::format("write the liveness record of {}", client.Describe())));
  last_ = now;
  return absl::OkStatus();
}

std::string LivenessHostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace litesync
