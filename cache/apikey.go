package cache

// API key format: "sk-" + 6 characters of [A-Za-z0-9] (the 9-character
// prefix, stored in api_keys.key_prefix) + "." + 64 lowercase hex
// characters. Stored: the prefix and the hex SHA-256 of the full key.

// PrefixLen is the length of an API key's prefix ("sk-XXXXXX").
const PrefixLen = 9
