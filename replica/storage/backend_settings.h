// A backend's own settings (where its replicas live, how to reach them): a
// struct defined in the backend's folder (file/file_settings.h FileSettings,
// s3/s3_settings.h S3Settings) and held by ReplicaOptions, so that
// replica_options.h names no backend. Copies are deep (ReplicaOptions is copied
// around by value). Not thread-safe; a copy per thread.
#pragma once

#include <memory>
#include <utility>

namespace litesync {

class BackendSettings {
 public:
  virtual ~BackendSettings() = default;
  virtual std::unique_ptr<BackendSettings> Clone() const = 0;
  // True when `other` is the same backend's settings with equal values.
  virtual bool Equals(const BackendSettings& other) const = 0;
};

// The base of a backend's settings struct `T`: clones and compares `T` by value
// (`T` declares `bool operator==(const T&) const = default;`).
template <typename T>
class BackendSettingsOf : public BackendSettings {
 public:
  std::unique_ptr<BackendSettings> Clone() const override {
    return std::make_unique<T>(static_cast<const T&>(*this));
  }
  bool Equals(const BackendSettings& other) const override {
    const T* o = dynamic_cast<const T*>(&other);
    return o != nullptr && static_cast<const T&>(*this) == *o;
  }
  bool operator==(const BackendSettingsOf&) const { return true; }  // for T's defaulted ==
};

// One backend's settings, or none, with value semantics.
class BackendSettingsHolder {
 public:
  BackendSettingsHolder() = default;
  BackendSettingsHolder(const BackendSettingsHolder& o) : p_(o.p_ ? o.p_->Clone() : nullptr) {}
  BackendSettingsHolder& operator=(const BackendSettingsHolder& o) {
    if (this != &o) p_ = o.p_ ? o.p_->Clone() : nullptr;
    return *this;
  }
  BackendSettingsHolder(BackendSettingsHolder&&) noexcept = default;
  BackendSettingsHolder& operator=(BackendSettingsHolder&&) noexcept = default;

  // The held settings when they are a `T`, else null.
  template <typename T>
  const T* Find() const {
    return dynamic_cast<const T*>(p_.get());
  }
  // The held `T`, made with `T`'s defaults first when absent or another type.
  template <typename T>
  T& Get() {
    if (Find<T>() == nullptr) p_ = std::make_unique<T>();
    return static_cast<T&>(*p_);
  }

  bool operator==(const BackendSettingsHolder& o) const {
    return p_ == nullptr ? o.p_ == nullptr : o.p_ != nullptr && p_->Equals(*o.p_);
  }

 private:
  std::unique_ptr<BackendSettings> p_;
};

}  // namespace litesync
