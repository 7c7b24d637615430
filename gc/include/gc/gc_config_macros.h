/*
 * gc_config_macros.h: platform and attribute macros for the Boehm GC
 * compatibility header set (mgc). Only GNU/Linux-style POSIX threads exist
 * underneath, so the thread macros reduce to GC_THREADS / GC_PTHREADS.
 * Read through gc.h.
 */
#if defined(GC_H)

#if defined(__GNUC__) && defined(__GNUC_MINOR__)
# define GC_GNUC_PREREQ(major, minor) \
    ((__GNUC__ << 16) + __GNUC_MINOR__ >= ((major) << 16) + (minor))
#else
# define GC_GNUC_PREREQ(major, minor) 0
#endif

/* Any of the platform thread macros Boehm knows asks for thread support. */
#if defined(GC_LINUX_THREADS) || defined(LINUX_THREADS) || defined(GC_SOLARIS_THREADS) \
    || defined(GC_FREEBSD_THREADS) || defined(GC_NETBSD_THREADS) || defined(GC_OPENBSD_THREADS) \
    || defined(GC_DARWIN_THREADS) || defined(GC_HPUX_THREADS) || defined(GC_AIX_THREADS) \
    || defined(GC_IRIX_THREADS) || defined(GC_OSF1_THREADS)
# ifndef GC_THREADS
#  define GC_THREADS
# endif
#endif
#if defined(GC_THREADS) && defined(__linux__) && !defined(GC_LINUX_THREADS)
# define GC_LINUX_THREADS
#endif
#undef GC_PTHREADS
#ifdef GC_THREADS
# define GC_PTHREADS
# if !defined(_REENTRANT)
#  define _REENTRANT 1
# endif
#endif

#define __GC
#include <stddef.h>

#ifndef GC_API
# if defined(__GNUC__) && defined(GC_BUILD)
#  define GC_API extern __attribute__((__visibility__("default")))
# else
#  define GC_API extern
# endif
#endif
#ifndef GC_CALL
# define GC_CALL
#endif
#ifndef GC_CALLBACK
# define GC_CALLBACK GC_CALL
#endif

#ifndef GC_ATTR_MALLOC
# if defined(GC_OOM_FUNC_RETURNS_ALIAS)
#  define GC_ATTR_MALLOC
# elif GC_GNUC_PREREQ(3, 1)
#  define GC_ATTR_MALLOC __attribute__((__malloc__))
# else
#  define GC_ATTR_MALLOC
# endif
#endif
#ifndef GC_ATTR_ALLOC_SIZE
# undef GC_ATTR_CALLOC_SIZE
# if GC_GNUC_PREREQ(4, 3) || defined(__clang__)
#  define GC_ATTR_ALLOC_SIZE(argnum) __attribute__((__alloc_size__(argnum)))
#  define GC_ATTR_CALLOC_SIZE(n, s) __attribute__((__alloc_size__(n, s)))
# else
#  define GC_ATTR_ALLOC_SIZE(argnum)
# endif
#endif
#ifndef GC_ATTR_CALLOC_SIZE
# define GC_ATTR_CALLOC_SIZE(n, s)
#endif
#ifndef GC_ATTR_NONNULL
# if GC_GNUC_PREREQ(4, 0)
#  define GC_ATTR_NONNULL(argnum) __attribute__((__nonnull__(argnum)))
# else
#  define GC_ATTR_NONNULL(argnum)
# endif
#endif
#ifndef GC_ATTR_CONST
# if GC_GNUC_PREREQ(4, 0)
#  define GC_ATTR_CONST __attribute__((__const__))
# else
#  define GC_ATTR_CONST
# endif
#endif
#ifndef GC_ATTR_DEPRECATED
# if defined(GC_BUILD)
#  define GC_ATTR_DEPRECATED
# elif GC_GNUC_PREREQ(4, 0)
#  define GC_ATTR_DEPRECATED __attribute__((__deprecated__))
# else
#  define GC_ATTR_DEPRECATED
# endif
#endif

/* The GC_debug_* functions take the caller's return address, file and
 * line, as Boehm's Linux builds do (the exported ABI depends on it). */
#if defined(__linux__) || defined(__GLIBC__)
# include <features.h>
# define GC_HAVE_BUILTIN_BACKTRACE
# define GC_CAN_SAVE_CALL_STACKS
#endif
#ifndef GC_ADD_CALLER
# define GC_ADD_CALLER
#endif
#ifndef GC_RETURN_ADDR
# if GC_GNUC_PREREQ(2, 95)
#  define GC_RETURN_ADDR (GC_word)__builtin_return_address(0)
# else
#  define GC_RETURN_ADDR 0
# endif
#endif

#ifdef GC_PTHREADS
# ifndef GC_PTHREAD_CREATE_CONST
#  define GC_PTHREAD_CREATE_CONST const
# endif
# ifndef GC_HAVE_PTHREAD_EXIT
#  define GC_HAVE_PTHREAD_EXIT
#  if GC_GNUC_PREREQ(2, 7)
#   define GC_PTHREAD_EXIT_ATTRIBUTE __attribute__((__noreturn__))
#  else
#   define GC_PTHREAD_EXIT_ATTRIBUTE
#  endif
# endif
#endif

#ifdef __cplusplus
# ifndef GC_ATTR_EXPLICIT
#  if __cplusplus >= 201103L
#   define GC_ATTR_EXPLICIT explicit
#  else
#   define GC_ATTR_EXPLICIT
#  endif
# endif
# ifndef GC_NOEXCEPT
#  if __cplusplus >= 201103L
#   define GC_NOEXCEPT noexcept
#  else
#   define GC_NOEXCEPT throw()
#  endif
# endif
#endif

#endif /* GC_H */
