# Writes FILE.sha256 holding the hex SHA-256 of FILE (the jar loader verifies it).
file(SHA256 "${FILE}" digest)
file(WRITE "${FILE}.sha256" "${digest}\n")
