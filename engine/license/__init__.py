"""Licensing of the platform: application codes, license codes, and what a license allows.

The flow:

1. GenerateQingCloudCode seals the request and the platform's identity to
   the vendor's public key: the application code (`codes`, `crypto`).
2. The vendor decrypts it and signs a license for this platform with
   `qc-installer license issue`: the license code.
3. ActivateQingCloudLicense verifies the signature, the platform binding and
   the validity window, and stores the license (`store`).
4. Status (`status`) and the hyper node limit (`limit`) are computed from the
   stored licenses at the engine's clock (`times`).
"""
