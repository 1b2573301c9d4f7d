/** Where Debian's archive keyring lives (package debian-archive-keyring): the default `keyring:`. */
export const DEBIAN_ARCHIVE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
