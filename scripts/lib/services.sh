# shellcheck shell=bash
# Private test services for paasportal: PostgreSQL, Redis, sshd, a browser.
#
# Source this file, set PP_RUN_DIR (a directory for state, pidfiles, logs),
# then call pp_start_postgres / pp_start_redis / pp_start_sshd /
# pp_install_browser; pp_stop_all stops what was started. Every function is
# idempotent, installs what it needs with apt-get when missing, listens on
# 127.0.0.1 only, prints short progress lines on stderr and exports the
# PAASPORTAL_TEST_* variables documented in scripts/lib/README.md.
#
# Works under `set -euo pipefail`; each function returns non-zero with an
# ERROR line on failure.

PP_PG_BIN=${PP_PG_BIN:-/usr/lib/postgresql/15/bin}

_pp_log() { printf '[services] %s\n' "$*" >&2; }
_pp_err() {
	printf '[services] ERROR: %s\n' "$*" >&2
	return 1
}

_pp_run_dir() {
	[[ -n ${PP_RUN_DIR:-} ]] || {
		_pp_err "PP_RUN_DIR is not set (a directory for the services' state)"
		return 1
	}
	mkdir -p "$PP_RUN_DIR" || {
		_pp_err "cannot create PP_RUN_DIR=$PP_RUN_DIR"
		return 1
	}
}

# Non-root service users (postgres, ppdeploy reading authorized_keys) must be
# able to traverse PP_RUN_DIR; mktemp -d makes it 0700.
_pp_run_dir_traversable() {
	local user=$1
	if ! runuser -u "$user" -- test -x "$PP_RUN_DIR"; then
		chmod a+x "$PP_RUN_DIR"
		runuser -u "$user" -- test -x "$PP_RUN_DIR" || {
			_pp_err "user $user cannot reach $PP_RUN_DIR (check the modes of its parent directories)"
			return 1
		}
	fi
}

_pp_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# _pp_apt_install PKG...: install the missing ones. Maintainer scripts are
# kept from starting services (policy-rc.d), so installing openssh-server or
# redis-server never starts Debian's own daemons.
_pp_apt_install() {
	local missing=() p
	for p in "$@"; do
		_pp_installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	_pp_log "installing ${missing[*]} (apt-get)"
	local policy=/usr/sbin/policy-rc.d ours=0 log rc=0
	log=$(mktemp)
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# paasportal services.sh: no service starts during install\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		ours=1
	fi

	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
		# Package lists may be missing or stale on a fresh machine.
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 || rc=$?
	fi
	if ((ours)) && grep -q 'paasportal services.sh' "$policy"; then rm -f "$policy"; fi
	if ((rc)); then
		tail -n 20 "$log" >&2
		rm -f "$log"
		_pp_err "apt-get install ${missing[*]} failed (exit $rc)"
		return 1
	fi
	rm -f "$log"
}

# _pp_pid_alive PIDFILE: the pid in PIDFILE is a live process.
_pp_pid_alive() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# _pp_port_busy PORT: something listens on 127.0.0.1:PORT.
_pp_port_busy() { (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# _pp_wait_port PORT SECONDS
_pp_wait_port() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		_pp_port_busy "$1" && return 0
		sleep 0.1
	done
	return 1
}

# _pp_kill_pidfile NAME PIDFILE: TERM, wait up to 10 s, then KILL.
_pp_kill_pidfile() {
	local name=$1 pidfile=$2 pid i
	if ! _pp_pid_alive "$pidfile"; then
		rm -f "$pidfile"
		return 0
	fi
	pid=$(<"$pidfile")
	_pp_log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		_pp_log "$name did not stop in 10 s; killing pid $pid"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

# _pp_secret FILE: print the secret stored in FILE, creating it once.
_pp_secret() {
	if [[ ! -s $1 ]]; then
		(umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' 'xy' >"$1")
	fi
	cat "$1"
}

# --------------------------------------------------------------------------
# PostgreSQL 15: a private cluster in $PP_RUN_DIR/pg on 127.0.0.1:PP_PG_PORT.

pp_start_postgres() {
	_pp_run_dir || return 1
	local port=${PP_PG_PORT:-55432} dir=$PP_RUN_DIR/pg
	[[ -x $PP_PG_BIN/initdb ]] || _pp_apt_install postgresql-15 || return 1
	[[ -x $PP_PG_BIN/initdb ]] || {
		_pp_err "no PostgreSQL 15 binaries in $PP_PG_BIN"
		return 1
	}
	id postgres >/dev/null 2>&1 || {
		_pp_err "OS user postgres is missing (package postgresql-15 creates it)"
		return 1
	}
	_pp_run_dir_traversable postgres || return 1
	if [[ ! -s $dir/PG_VERSION ]]; then
		_pp_log "postgres: initdb $dir"
		rm -rf "$dir"
		install -d -o postgres -g postgres -m 0700 "$dir"
		runuser -u postgres -- "$PP_PG_BIN/initdb" -D "$dir" -U postgres --auth=trust \
			--encoding=UTF8 --locale=C.UTF-8 >"$PP_RUN_DIR/pg-initdb.log" 2>&1 || {
			tail -n 20 "$PP_RUN_DIR/pg-initdb.log" >&2
			_pp_err "initdb failed (log: $PP_RUN_DIR/pg-initdb.log)"
			return 1
		}
		cat >>"$dir/postgresql.conf" <<-EOF
			# paasportal test cluster
			listen_addresses = '127.0.0.1'
			port = $port
			unix_socket_directories = '$dir'
			max_connections = 500
			fsync = on
			synchronous_commit = on
			full_page_writes = on
		EOF
	fi
	if runuser -u postgres -- "$PP_PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
		_pp_log "postgres: already running on 127.0.0.1:$port"
	else
		if _pp_port_busy "$port"; then
			_pp_err "port 127.0.0.1:$port is taken by another process (set PP_PG_PORT)"
			return 1
		fi
		_pp_log "postgres: starting on 127.0.0.1:$port"
		runuser -u postgres -- "$PP_PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
			-o "-p $port" start >/dev/null || {
			tail -n 20 "$dir/server.log" >&2
			_pp_err "PostgreSQL did not start (log: $dir/server.log)"
			return 1
		}
	fi
	export PAASPORTAL_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
	export PAASPORTAL_TEST_PG_BIN=$PP_PG_BIN
}

pp_stop_postgres() {
	[[ -n ${PP_RUN_DIR:-} && -s $PP_RUN_DIR/pg/PG_VERSION ]] || return 0
	local dir=$PP_RUN_DIR/pg
	if runuser -u postgres -- "$PP_PG_BIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
		_pp_log "postgres: stopping"
		runuser -u postgres -- "$PP_PG_BIN/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null || {
			_pp_err "PostgreSQL did not stop (pid file $dir/postmaster.pid)"
			return 1
		}
	fi
}

# --------------------------------------------------------------------------
# Redis: a private, non-persistent server on 127.0.0.1:PP_REDIS_PORT.

# Debian's redis-server service (6379) must not be left running.
_pp_debian_redis_off() {
	if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
		if systemctl is-enabled --quiet redis-server 2>/dev/null || systemctl is-active --quiet redis-server 2>/dev/null; then
			_pp_log "redis: disabling Debian's redis-server service"
			systemctl disable --now redis-server >/dev/null 2>&1 || true
		fi
	else
		if [[ -x /etc/init.d/redis-server ]] && _pp_pid_alive /run/redis/redis-server.pid; then
			_pp_log "redis: stopping Debian's redis-server service"
			/etc/init.d/redis-server stop >/dev/null 2>&1 || true
		fi
		if command -v update-rc.d >/dev/null; then
			update-rc.d redis-server disable >/dev/null 2>&1 || true
		fi
	fi
}

pp_start_redis() {
	_pp_run_dir || return 1
	local port=${PP_REDIS_PORT:-56379} pidfile=$PP_RUN_DIR/redis.pid
	_pp_apt_install redis-server || return 1
	_pp_debian_redis_off
	if _pp_pid_alive "$pidfile"; then
		_pp_log "redis: already running on 127.0.0.1:$port"
	else
		if _pp_port_busy "$port"; then
			_pp_err "port 127.0.0.1:$port is taken by another process (set PP_REDIS_PORT)"
			return 1
		fi
		mkdir -p "$PP_RUN_DIR/redis"
		_pp_log "redis: starting on 127.0.0.1:$port"
		# maxclients needs maxclients+32 descriptors; raise the limit if allowed.
		(
			ulimit -n 65536 2>/dev/null || true
			exec redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
				--daemonize yes --pidfile "$pidfile" --maxclients 20000 \
				--dir "$PP_RUN_DIR/redis" --logfile "$PP_RUN_DIR/redis.log"
		) || {
			_pp_err "redis-server failed to start (log: $PP_RUN_DIR/redis.log)"
			return 1
		}
		local i
		for ((i = 0; i < 100; i++)); do
			[[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] && break
			sleep 0.1
		done
		[[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] || {
			tail -n 20 "$PP_RUN_DIR/redis.log" >&2
			_pp_err "redis did not answer PING on port $port (log: $PP_RUN_DIR/redis.log)"
			return 1
		}
		local max
		max=$(redis-cli -p "$port" config get maxclients | tail -n 1)
		[[ $max == 20000 ]] || _pp_log "redis: maxclients is $max (open-file limit $(ulimit -n) < 20032)"
	fi
	export PAASPORTAL_TEST_REDIS_URL="redis://127.0.0.1:$port"
	PAASPORTAL_TEST_REDIS_SERVER=$(command -v redis-server)
	export PAASPORTAL_TEST_REDIS_SERVER
}

pp_stop_redis() {
	[[ -n ${PP_RUN_DIR:-} ]] || return 0
	_pp_kill_pidfile redis "$PP_RUN_DIR/redis.pid"
}

# --------------------------------------------------------------------------
# sshd: a private daemon on 127.0.0.1:PP_SSH_PORT for user ppdeploy (docker
# group) and root, with keys in $PP_RUN_DIR/ssh.

PP_SSH_USER=ppdeploy
PP_SSH_PASSWORD_FILE=${PP_SSH_PASSWORD_FILE:-/var/lib/paasportal-test/ppdeploy.password}

_pp_ssh_user() {
	getent group docker >/dev/null || {
		_pp_log "ssh: creating group docker"
		groupadd --system docker
	}
	if ! id "$PP_SSH_USER" >/dev/null 2>&1; then
		_pp_log "ssh: creating user $PP_SSH_USER"
		useradd --create-home --shell /bin/bash --groups docker "$PP_SSH_USER"
	elif ! id -nG "$PP_SSH_USER" | tr ' ' '\n' | grep -qx docker; then
		usermod -aG docker "$PP_SSH_USER"
	fi
	local sock=/var/run/docker.sock
	if [[ -S $sock && $(stat -c %G "$sock") != docker ]]; then
		_pp_log "ssh: giving group docker access to $sock"
		chgrp docker "$sock"
		chmod g+rw "$sock"
	fi
}

_pp_ssh_keys() {
	local dir=$1 pass=$2 k
	[[ -s $dir/ssh_host_ed25519_key ]] ||
		ssh-keygen -q -t ed25519 -N '' -C paasportal-test-host -f "$dir/ssh_host_ed25519_key"
	[[ -s $dir/id_ed25519 ]] ||
		ssh-keygen -q -t ed25519 -N '' -C ppdeploy@paasportal-test -f "$dir/id_ed25519"
	[[ -s $dir/id_ed25519_encrypted ]] ||
		ssh-keygen -q -t ed25519 -N "$pass" -C ppdeploy-encrypted@paasportal-test -f "$dir/id_ed25519_encrypted"
	[[ -s $dir/id_ed25519_wrong ]] ||
		ssh-keygen -q -t ed25519 -N '' -C not-authorized@paasportal-test -f "$dir/id_ed25519_wrong"
	for k in ssh_host_ed25519_key id_ed25519 id_ed25519_encrypted id_ed25519_wrong; do
		chmod 600 "$dir/$k"
	done
	cat "$dir/id_ed25519.pub" "$dir/id_ed25519_encrypted.pub" >"$dir/authorized_keys"
	chmod 644 "$dir/authorized_keys"
}

pp_start_sshd() {
	_pp_run_dir || return 1
	local port=${PP_SSH_PORT:-2222} dir=$PP_RUN_DIR/ssh pidfile=$PP_RUN_DIR/sshd.pid
	_pp_apt_install openssh-server openssh-client || return 1
	_pp_ssh_user || return 1
	_pp_run_dir_traversable "$PP_SSH_USER" || return 1
	mkdir -p "$dir"
	chmod 711 "$dir" # ppdeploy must read authorized_keys; private keys stay 0600
	local pass password
	pass=$(_pp_secret "$dir/key_passphrase")
	# One password for the one OS user, whatever the run dir: a second run dir
	# (tests beside `scripts/testbed up`) must not change the first one's.
	mkdir -p "${PP_SSH_PASSWORD_FILE%/*}"
	password=$(_pp_secret "$PP_SSH_PASSWORD_FILE")
	_pp_ssh_keys "$dir" "$pass" || return 1
	printf '%s:%s\n' "$PP_SSH_USER" "$password" | chpasswd
	cat >"$dir/sshd_config.new" <<-EOF
		# paasportal private test sshd (generated by scripts/lib/services.sh)
		Port $port
		ListenAddress 127.0.0.1
		HostKey $dir/ssh_host_ed25519_key
		PidFile $pidfile
		AuthorizedKeysFile $dir/authorized_keys
		PubkeyAuthentication yes
		PasswordAuthentication yes
		KbdInteractiveAuthentication no
		PermitRootLogin prohibit-password
		AllowUsers $PP_SSH_USER root
		# No PAM: passwords are checked against /etc/shadow, as set by chpasswd.
		UsePAM no
		# The key files live under a temp dir (/tmp is world-writable).
		StrictModes no
		# Tests open many connections and channels at once.
		MaxStartups 200:30:400
		MaxSessions 64
		MaxAuthTries 10
		X11Forwarding no
		PrintMotd no
		Subsystem sftp internal-sftp
		LogLevel VERBOSE
	EOF
	local changed=1
	if cmp -s "$dir/sshd_config.new" "$dir/sshd_config"; then changed=0; fi
	mv "$dir/sshd_config.new" "$dir/sshd_config"
	mkdir -p /run/sshd
	chmod 755 /run/sshd
	if _pp_pid_alive "$pidfile"; then
		if ((changed)); then
			# sshd re-executes itself on SIGHUP; its socket is gone for a moment.
			kill -HUP "$(<"$pidfile")"
			sleep 0.5
			_pp_wait_port "$port" 10 || {
				_pp_err "sshd did not come back after reloading its configuration (log: $PP_RUN_DIR/sshd.log)"
				return 1
			}
			_pp_log "sshd: running on 127.0.0.1:$port (configuration reloaded)"
		else
			_pp_log "sshd: already running on 127.0.0.1:$port"
		fi
	else
		if _pp_port_busy "$port"; then
			_pp_err "port 127.0.0.1:$port is taken by another process (set PP_SSH_PORT)"
			return 1
		fi
		/usr/sbin/sshd -t -f "$dir/sshd_config" || {
			_pp_err "sshd rejected $dir/sshd_config"
			return 1
		}
		_pp_log "sshd: starting on 127.0.0.1:$port"
		/usr/sbin/sshd -f "$dir/sshd_config" -E "$PP_RUN_DIR/sshd.log" || {
			_pp_err "sshd failed to start (log: $PP_RUN_DIR/sshd.log)"
			return 1
		}
		_pp_wait_port "$port" 10 || {
			tail -n 20 "$PP_RUN_DIR/sshd.log" >&2
			_pp_err "sshd is not listening on 127.0.0.1:$port (log: $PP_RUN_DIR/sshd.log)"
			return 1
		}
	fi
	# Known-hosts line for the clients of this sshd.
	printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >"$dir/known_hosts"
	# Key auth and Docker access for the deploy user, in one round trip.
	local out try
	for try in 1 2 3; do
		if out=$(ssh -i "$dir/id_ed25519" -p "$port" -o BatchMode=yes -o IdentitiesOnly=yes \
			-o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes -o ConnectTimeout=10 \
			-o LogLevel=ERROR "$PP_SSH_USER@127.0.0.1" docker version --format '{{.Server.Version}}' 2>&1); then
			break
		fi
		((try < 3)) || {
			printf '%s\n' "$out" >&2
			_pp_err "ssh $PP_SSH_USER@127.0.0.1:$port with the test key cannot run docker"
			return 1
		}
		sleep 1
	done
	export PAASPORTAL_TEST_SSH_HOST=127.0.0.1
	export PAASPORTAL_TEST_SSH_PORT=$port
	export PAASPORTAL_TEST_SSH_USER=$PP_SSH_USER
	export PAASPORTAL_TEST_SSH_KEY=$dir/id_ed25519
	export PAASPORTAL_TEST_SSH_KEY_ENCRYPTED=$dir/id_ed25519_encrypted
	export PAASPORTAL_TEST_SSH_KEY_PASSPHRASE=$pass
	export PAASPORTAL_TEST_SSH_WRONG_KEY=$dir/id_ed25519_wrong
	export PAASPORTAL_TEST_SSH_PASSWORD=$password
	export PAASPORTAL_TEST_SSH_HOST_PUBKEY=$dir/ssh_host_ed25519_key.pub
}

pp_stop_sshd() {
	[[ -n ${PP_RUN_DIR:-} ]] || return 0
	_pp_kill_pidfile sshd "$PP_RUN_DIR/sshd.pid"
}

# --------------------------------------------------------------------------
# The deployment's outside world (testbed/fakes): bare git repositories served
# over smart HTTP (one private behind basic auth), the Cloudflare DNS API
# subset paasportal uses, and a DNS server answering for the apps domain from
# that API's records after a propagation delay. One process, three ports.

_pp_repo_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd); }

pp_start_fakes() {
	_pp_run_dir || return 1
	local repo git_port=${PP_GIT_PORT:-59418} cf_port=${PP_CLOUDFLARE_PORT:-59480}
	local dns_port=${PP_DNS_PORT:-59453} delay=${PP_DNS_PROPAGATION_SECS:-2}
	local domain=${PP_APPS_DOMAIN:-apps.paasportal.test} zone=023e105f4ecef8ad9ca31a8372d0c353
	local pidfile=$PP_RUN_DIR/fakes.pid ready=$PP_RUN_DIR/fakes.ready git_token cf_token port
	repo=$(_pp_repo_root)
	command -v git >/dev/null || _pp_apt_install git || return 1
	"$repo/testbed/make-git-repos" "$PP_RUN_DIR/git" || {
		_pp_err "testbed/make-git-repos failed"
		return 1
	}
	git_token=$(_pp_secret "$PP_RUN_DIR/git_token")
	cf_token=$(_pp_secret "$PP_RUN_DIR/cloudflare_token")
	if _pp_pid_alive "$pidfile"; then
		_pp_log "fakes: already running (git :$git_port, cloudflare :$cf_port, dns :$dns_port)"
	else
		for port in "$git_port" "$cf_port" "$dns_port"; do
			if _pp_port_busy "$port"; then
				_pp_err "port 127.0.0.1:$port is taken by another process (set PP_GIT_PORT, PP_CLOUDFLARE_PORT, PP_DNS_PORT)"
				return 1
			fi
		done
		# The dev profile: it shares compiled dependencies with the test build.
		_pp_log "fakes: cargo build -p testbed-fakes"
		cargo build --quiet -p testbed-fakes --manifest-path "$repo/Cargo.toml" \
			--target-dir "$repo/target" || {
			_pp_err "cargo build of testbed-fakes failed"
			return 1
		}
		rm -f "$ready"
		_pp_log "fakes: starting (git :$git_port, cloudflare :$cf_port, dns :$dns_port, propagation ${delay}s)"
		FAKES_GIT_TOKEN=$git_token FAKES_CLOUDFLARE_TOKEN=$cf_token setsid "$repo/target/debug/testbed-fakes" \
			--git-listen "127.0.0.1:$git_port" --git-root "$PP_RUN_DIR/git" --git-private private-repo.git \
			--cloudflare-listen "127.0.0.1:$cf_port" --zone-id "$zone" --zone-name "$domain" \
			--dns-listen "127.0.0.1:$dns_port" --propagation-delay "$delay" \
			--ready-file "$ready" </dev/null >"$PP_RUN_DIR/fakes.log" 2>&1 &
		echo $! >"$pidfile"
		local i
		for ((i = 0; i < 100; i++)); do
			[[ -s $ready ]] && break
			_pp_pid_alive "$pidfile" || break
			sleep 0.1
		done
		[[ -s $ready ]] || {
			tail -n 20 "$PP_RUN_DIR/fakes.log" >&2
			_pp_err "testbed-fakes did not start (log: $PP_RUN_DIR/fakes.log)"
			return 1
		}
	fi
	export PAASPORTAL_TEST_GIT_URL=http://127.0.0.1:$git_port/git
	export PAASPORTAL_TEST_GIT_TOKEN=$git_token
	export PAASPORTAL_TEST_GIT_PRIVATE_REPO=private-repo.git
	export PAASPORTAL_TEST_CLOUDFLARE_URL=http://127.0.0.1:$cf_port/client/v4
	export PAASPORTAL_TEST_CLOUDFLARE_TOKEN=$cf_token
	export PAASPORTAL_TEST_CLOUDFLARE_ZONE_ID=$zone
	export PAASPORTAL_TEST_APPS_DOMAIN=$domain
	export PAASPORTAL_TEST_DNS_SERVER=127.0.0.1:$dns_port
	export PAASPORTAL_TEST_DNS_PROPAGATION_SECS=$delay
}

pp_stop_fakes() {
	[[ -n ${PP_RUN_DIR:-} ]] || return 0
	_pp_kill_pidfile testbed-fakes "$PP_RUN_DIR/fakes.pid"
}

# --------------------------------------------------------------------------
# S3: moto's server (PyPI, in a venv under $PP_RUN_DIR) holding the testbed's
# migration backups (testbed/make-backup, which needs the testbed images).

pp_start_s3() {
	_pp_run_dir || return 1
	local repo port=${PP_S3_PORT:-59000} venv=$PP_RUN_DIR/moto-venv pidfile=$PP_RUN_DIR/moto.pid
	local bucket=paasportal-backups
	repo=$(_pp_repo_root)
	if [[ ! -x $venv/bin/moto_server ]]; then
		_pp_log "s3: installing moto[server] into $venv"
		command -v python3 >/dev/null || _pp_apt_install python3 || return 1
		# Debian's python3 makes venvs only with python3-venv installed.
		if ! python3 -m venv "$venv" >/dev/null 2>&1; then
			rm -rf "$venv"
			_pp_apt_install python3-venv || return 1
			python3 -m venv "$venv" || {
				_pp_err "python3 -m venv $venv failed"
				return 1
			}
		fi
		"$venv/bin/pip" install -q 'moto[server]==5.1.*' >"$PP_RUN_DIR/moto-install.log" 2>&1 || {
			tail -n 20 "$PP_RUN_DIR/moto-install.log" >&2
			_pp_err "pip install moto[server] failed (log: $PP_RUN_DIR/moto-install.log)"
			return 1
		}
	fi
	if _pp_pid_alive "$pidfile"; then
		_pp_log "s3: already running on 127.0.0.1:$port"
	else
		if _pp_port_busy "$port"; then
			_pp_err "port 127.0.0.1:$port is taken by another process (set PP_S3_PORT)"
			return 1
		fi
		_pp_log "s3: starting moto on 127.0.0.1:$port"
		setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >"$PP_RUN_DIR/moto.log" 2>&1 &
		echo $! >"$pidfile"
		_pp_wait_port "$port" 30 || {
			tail -n 20 "$PP_RUN_DIR/moto.log" >&2
			_pp_err "moto did not start (log: $PP_RUN_DIR/moto.log)"
			return 1
		}
	fi
	"$repo/testbed/build-images" >&2 || {
		_pp_err "testbed/build-images failed"
		return 1
	}
	"$repo/testbed/make-backup" "$PP_RUN_DIR/backup" || {
		_pp_err "testbed/make-backup failed"
		return 1
	}
	# moto keeps objects in memory: (re)upload on every call.
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "$venv/bin/python" - "$port" "$bucket" "$PP_RUN_DIR/backup" <<-'PY' || {
		import sys, boto3
		port, bucket, src = sys.argv[1], sys.argv[2], sys.argv[3]
		s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
		if bucket not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
		    s3.create_bucket(Bucket=bucket)
		for name in ("good.zip", "corrupt.zip"):
		    s3.upload_file(f"{src}/{name}", bucket, f"migrations/{name}")
	PY
		_pp_err "uploading the backups to moto failed"
		return 1
	}
	export PAASPORTAL_TEST_S3_ENDPOINT=http://127.0.0.1:$port
	export PAASPORTAL_TEST_S3_BUCKET=$bucket
	export PAASPORTAL_TEST_S3_REGION=us-east-1
	export PAASPORTAL_TEST_S3_ACCESS_KEY=testing
	export PAASPORTAL_TEST_S3_SECRET_KEY=testing
	export PAASPORTAL_TEST_BACKUP_KEY=migrations/good.zip
	export PAASPORTAL_TEST_BACKUP_CORRUPT_KEY=migrations/corrupt.zip
}

pp_stop_s3() {
	[[ -n ${PP_RUN_DIR:-} ]] || return 0
	_pp_kill_pidfile moto "$PP_RUN_DIR/moto.pid"
}

# --------------------------------------------------------------------------
# Browser for UI tests.

pp_install_browser() {
	_pp_apt_install chromium chromium-driver || return 1
	PAASPORTAL_TEST_CHROMEDRIVER=$(command -v chromedriver) || {
		_pp_err "chromedriver not found after installing chromium-driver"
		return 1
	}
	export PAASPORTAL_TEST_CHROMEDRIVER
}

# --------------------------------------------------------------------------

# Stop everything the functions above started in PP_RUN_DIR; packages stay.
pp_stop_all() {
	local rc=0
	pp_stop_s3 || rc=1
	pp_stop_fakes || rc=1
	pp_stop_sshd || rc=1
	pp_stop_redis || rc=1
	pp_stop_postgres || rc=1
	return "$rc"
}
