// SPDX-License-Identifier: GPL-2.0
/* fork+exec with chosen descriptors, clean signals and reported exec errors. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

/* In the child: only async-signal-safe calls until exec. */
static void child(const struct ddvm_spawn *s, int null_fd, int errpipe)
{
	int fds[3] = { s->stdin_fd, s->stdout_fd, s->stderr_fd };
	struct sigaction sa = { .sa_handler = SIG_DFL };
	unsigned int k;
	sigset_t none;
	int i, e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (i = 1; i < NSIG; i++)
		sigaction(i, &sa, NULL);
	setpgid(0, 0);
	if (s->death_signal)
		prctl(PR_SET_PDEATHSIG, s->death_signal);
	/* dup2 clears O_CLOEXEC on the copies, which is what we want */
	for (i = 0; i < 3; i++) {
		int fd = fds[i] >= 0 ? fds[i] : null_fd;

		if (fd == i) {
			if (fcntl(fd, F_SETFD, 0))
				goto fail;
		} else if (dup2(fd, i) < 0) {
			goto fail;
		}
	}
	if (s->keep_fd >= 0 && fcntl(s->keep_fd, F_SETFD, 0))
		goto fail;
	for (k = 0; k < s->nr_keep_fds; k++)
		if (s->keep_fds[k] >= 0 && fcntl(s->keep_fds[k], F_SETFD, 0))
			goto fail;
	execvp(s->argv[0], s->argv);
fail:
	e = errno;
	if (write(errpipe, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int ddvm_spawn(const struct ddvm_spawn *s, pid_t *pid, struct ddvm_err *err)
{
	int ep[2], null_fd, e = 0;
	ssize_t n;
	pid_t p;

	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return ddvm_errf(err, -errno, "/dev/null: %s", strerror(errno));
	if (pipe2(ep, O_CLOEXEC)) {
		e = errno;
		close(null_fd);
		return ddvm_errf(err, -e, "pipe: %s", strerror(e));
	}
	p = fork();
	if (p < 0) {
		e = errno;
		close(null_fd);
		close(ep[0]);
		close(ep[1]);
		return ddvm_errf(err, -e, "cannot start %s: fork: %s", s->argv[0], strerror(e));
	}
	if (p == 0)
		child(s, null_fd, ep[1]);
	close(null_fd);
	close(ep[1]);
	/* the exec closes the pipe (O_CLOEXEC): EOF means it ran */
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == sizeof(e)) {
		waitpid(p, NULL, 0);
		return ddvm_errf(err, -e, "cannot run %s: %s", s->argv[0], strerror(e));
	}
	*pid = p;
	return 0;
}

void ddvm_wait_status_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended (wait status 0x%x)", status);
}
