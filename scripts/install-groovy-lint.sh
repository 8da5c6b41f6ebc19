#!/usr/bin/env bash
# Installs a Groovy / Jenkinsfile syntax checker into .tools/groovy-lint (once), for the Jenkinsfile test.
#
#   preferred: Debian's `groovy` package (Groovy 2.4.21, the Groovy line Jenkins itself runs; real line numbers);
#   fallback:  npm-groovy-lint (pinned, `npm install --prefix .tools/groovy-lint`, nothing global), which
#              needs Node >= 20 and a Java >= 17 runtime (Debian default-jre-headless, installed if missing).
#
# Either way it writes one checker with the same contract:
#   .tools/groovy-lint/bin/check-groovy-syntax FILE...
#     parse only (no CodeNarc style rules, nothing is executed, imports/@Library need not resolve);
#     exit 0: every file parses; 1: a syntax error (printed); 2: usage error, missing file or checker failure.
# How to invoke it is also written to .tools/groovy-lint/USAGE.
#
# The last line this script prints on stdout is always one of
#   groovy-lint: ready: <absolute path of check-groovy-syntax>
#   groovy-lint: unavailable: <one-line reason>
# and it always exits 0, so a test can run it and skip with that reason when the checker is absent.
# It is a no-op (well under a second) once installed. GROOVY_LINT_BACKEND=npm|debian forces one backend.
set -u
cd "$(dirname "$0")/.." || { echo "groovy-lint: unavailable: cannot cd to the repo root"; exit 0; }
ROOT=$(pwd)
DIR=.tools/groovy-lint
CHECK=$DIR/bin/check-groovy-syntax
NGL_VERSION=16.2.0 # the newest npm-groovy-lint that runs on Node 20 (17.x wants Node >= 22)
BACKEND=${GROOVY_LINT_BACKEND:-auto}

ready() {
  echo "groovy-lint: ready: $ROOT/$CHECK"
  exit 0
}
unavailable() {
  echo "groovy-lint: unavailable: $*"
  exit 0
}

# Already installed and what it relies on still there: nothing to do.
installed_ok() {
  [ -x "$CHECK" ] && [ -f "$DIR/.installed" ] || return 1
  local needs n=0
  while IFS= read -r needs; do
    [ -x "$needs" ] || return 1
    n=$((n + 1))
  done < <(sed -n 's/^needs=//p' "$DIR/.installed")
  [ "$n" -gt 0 ]
}
if installed_ok; then
  ready
fi

mkdir -p "$DIR/bin" "$DIR/lib" || unavailable "cannot create $DIR"
printf '*\n' >"$DIR/.gitignore" # keep the whole tool folder out of git
if command -v flock >/dev/null 2>&1; then
  exec 9>"$DIR/.lock"
  flock 9
  if installed_ok; then ready; fi # another run finished it while we waited
fi
rm -f "$DIR/.installed"

# ---- helpers -----------------------------------------------------------------------------------
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}
can_apt() {
  command -v apt-get >/dev/null 2>&1 || return 1
  [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }
}
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then
    as_root apt-get update -qq >/dev/null 2>&1 || true
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}
java_major() { # prints the major version of the java binary $1 ("1.8.0_x" -> 8, "17.0.15" -> 17)
  "$1" -version 2>&1 | awk -F'"' '/version/ {
    n = split($2, v, "."); m = (v[1] == "1" && n > 1) ? v[2] : v[1]; sub(/[^0-9].*/, "", m); print m; exit }'
}
find_java() { # prints the first java >= 17 found
  local j m
  for j in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null)" /usr/lib/jvm/*/bin/java; do
    if [ -z "$j" ] || [ ! -x "$j" ]; then continue; fi
    j=$(readlink -f "$j")
    m=$(java_major "$j")
    if [ -n "$m" ] && [ "$m" -ge 17 ] 2>/dev/null; then
      echo "$j"
      return 0
    fi
  done
  return 1
}
node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
    && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null
}
write_usage() {
  cat >"$DIR/USAGE" <<EOF
Groovy / Jenkinsfile syntax checker ($1), installed by scripts/install-groovy-lint.sh.

  $ROOT/$CHECK FILE...

Parse only: no style rules, nothing executed, imports and @Library need not resolve.
Exit 0: every file parses.  1: a syntax error (printed).  2: usage error, missing file or checker failure.
$2
EOF
}
self_test() { # the checker must accept a valid pipeline (0) and reject a broken one (1)
  local t rc_good rc_bad
  t=$(mktemp -d)
  printf "pipeline {\n  agent any\n  stages { stage('a') { steps { sh '''\n    echo ok\n  ''' } } }\n}\n" >"$t/Jenkinsfile.good"
  printf "pipeline {\n  agent any\n  stages { stage('a') { steps { echo 'x' } }\n" >"$t/Jenkinsfile.bad"
  "$CHECK" "$t/Jenkinsfile.good" >"$t/good.log" 2>&1
  rc_good=$?
  "$CHECK" "$t/Jenkinsfile.bad" >"$t/bad.log" 2>&1
  rc_bad=$?
  if [ "$rc_good" = 0 ] && [ "$rc_bad" = 1 ]; then
    rm -rf "$t"
    return 0
  fi
  echo "groovy-lint self-test failed (valid file: exit $rc_good, broken file: exit $rc_bad):" >&2
  tail -5 "$t/good.log" "$t/bad.log" >&2
  rm -rf "$t"
  return 1
}
REASONS=()

# ---- preferred: npm-groovy-lint ---------------------------------------------------------------
install_npm() {
  local java=$1 log
  if ! node_ok; then
    local v
    v=$(node --version 2>/dev/null | head -1)
    REASONS+=("npm-groovy-lint needs node >= 20 and npm (found node: ${v:-none})")
    return 1
  fi
  echo "installing npm-groovy-lint@$NGL_VERSION into $DIR (once)..."
  log=$(mktemp)
  local tmo=()
  command -v timeout >/dev/null 2>&1 && tmo=(timeout 600)
  if ! "${tmo[@]}" npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error \
      "npm-groovy-lint@$NGL_VERSION" >"$log" 2>&1 \
      || [ ! -x "$DIR/node_modules/.bin/npm-groovy-lint" ]; then
    tail -15 "$log" >&2
    rm -f "$log"
    REASONS+=("npm install npm-groovy-lint@$NGL_VERSION failed")
    return 1
  fi
  rm -f "$log"
  cat >"$CHECK" <<EOF
#!/usr/bin/env bash
# Generated by scripts/install-groovy-lint.sh: npm-groovy-lint $NGL_VERSION, parse errors only.
# Usage: check-groovy-syntax FILE...  exit 0: all parse; 1: syntax error(s); 2: usage error / checker failure
set -u
[ \$# -gt 0 ] || { echo "usage: \$0 FILE..." >&2; exit 2; }
for f in "\$@"; do [ -f "\$f" ] || { echo "\$0: no such file: \$f" >&2; exit 2; }; done
# --noserver: no background CodeNarc server; --rulesets EmptyClass: a rule that cannot report an error,
# so only NglParseError (the GroovyShell parse) counts; -j: never let java-caller try to download a JRE.
FORCE_COLOR=0 exec "\$(dirname "\$0")/../node_modules/.bin/npm-groovy-lint" --noserver --failon error \\
  --loglevel error --rulesets EmptyClass --javaexecutable "$java" --output txt "\$@"
EOF
  chmod +x "$CHECK"
  write_usage "npm-groovy-lint $NGL_VERSION, Java $java" \
"Machine-readable report (same exit codes):
  $ROOT/$DIR/node_modules/.bin/npm-groovy-lint --noserver --failon error --loglevel error --rulesets EmptyClass -j $java --output json FILE...
Full CodeNarc lint of a Jenkinsfile (style findings too; fails on error-level ones):
  $ROOT/$DIR/node_modules/.bin/npm-groovy-lint --noserver --failon error -j $java FILE..."
  if ! self_test; then
    REASONS+=("npm-groovy-lint installed but its self-test failed")
    return 1
  fi
  printf 'backend=npm-groovy-lint %s\nneeds=%s\nneeds=%s\n' "$NGL_VERSION" "$java" "$(command -v node)" >"$DIR/.installed"
  return 0
}

# ---- fallback: Debian groovy --------------------------------------------------------------------
install_debian() {
  local java=$1 groovy java_home
  groovy=$(command -v groovy 2>/dev/null)
  if [ -z "$groovy" ]; then
    if ! can_apt; then
      REASONS+=("Debian groovy is not installed and this user cannot apt-get it")
      return 1
    fi
    echo "installing Debian groovy for the Jenkinsfile syntax check (once)..."
    if ! apt_install groovy || ! groovy=$(command -v groovy 2>/dev/null); then
      REASONS+=("apt-get install groovy failed")
      return 1
    fi
  fi
  java_home=$(dirname "$(dirname "$java")")
  cat >"$DIR/lib/parse-only.groovy" <<'EOF'
// Parses each file up to the CONVERSION phase (syntax -> AST): nothing is executed or resolved.
import org.codehaus.groovy.control.CompilationFailedException
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.Phases
int bad = 0
args.each { String name ->
    CompilationUnit cu = new CompilationUnit()
    cu.addSource(new File(name))
    try {
        cu.compile(Phases.CONVERSION)
        println("${name}: OK")
    } catch (CompilationFailedException e) {
        System.err.println(e.message.trim())
        bad++
    }
}
System.exit(bad ? 1 : 0)
EOF
  cat >"$CHECK" <<EOF
#!/usr/bin/env bash
# Generated by scripts/install-groovy-lint.sh: Debian groovy ($groovy), parse only.
# Usage: check-groovy-syntax FILE...  exit 0: all parse; 1: syntax error(s); 2: usage error / checker failure
set -u
[ \$# -gt 0 ] || { echo "usage: \$0 FILE..." >&2; exit 2; }
for f in "\$@"; do [ -f "\$f" ] || { echo "\$0: no such file: \$f" >&2; exit 2; }; done
export JAVA_HOME="$java_home"
"$groovy" "\$(dirname "\$0")/../lib/parse-only.groovy" "\$@"
rc=\$?
[ \$rc -le 1 ] || rc=2
exit \$rc
EOF
  chmod +x "$CHECK"
  write_usage "Debian groovy $groovy, Java $java" ""
  if ! self_test; then
    REASONS+=("Debian groovy installed but its self-test failed")
    return 1
  fi
  printf 'backend=debian-groovy\nneeds=%s\n' "$groovy" >"$DIR/.installed"
  return 0
}

# ---- main ---------------------------------------------------------------------------------------
JAVA=$(find_java)
if [ -z "$JAVA" ]; then
  if can_apt; then
    echo "installing a Java runtime (default-jre-headless) for the Groovy syntax checker (once)..."
    apt_install default-jre-headless || true
    JAVA=$(find_java)
  fi
  if [ -z "$JAVA" ]; then
    if can_apt; then
      unavailable "no Java >= 17 runtime and apt-get install default-jre-headless did not provide one"
    fi
    unavailable "no Java >= 17 runtime, and this user cannot apt-get default-jre-headless (not root, no passwordless sudo)"
  fi
fi

case "$BACKEND" in
  npm) install_npm "$JAVA" && ready ;;
  debian) install_debian "$JAVA" && ready ;;
  *) { install_debian "$JAVA" || install_npm "$JAVA"; } && ready ;;  # Debian groovy 2.4 first: what Jenkins runs, faster, right lines
esac
rm -f "$CHECK"
reason=$(IFS=';'; echo "${REASONS[*]:-no backend could be installed}")
unavailable "${reason//;/; }"
