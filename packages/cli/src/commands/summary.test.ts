import { describe, expect, it } from 'vitest';
import { runCli, userErrorOf } from '../cli-testing.ts';

const SMALL_SWIN = ['embed_dim=16', 'depths=2,2', 'num_heads=2,4'];
const summary = async (...argv: string[]) => (await runCli(['summary', ...argv])).out!;

describe('tessera summary', () => {
  it('shows the config keys with their defaults, and FLOPs with a unit and what they count', async () => {
    const out = await summary('swin_t', '--config', ...SMALL_SWIN, 'window_size=4,4', 'image_size=32');
    expect(out).toMatch(/^config \(--config key=value \.\.\.\):$/m);
    expect(out).toMatch(/^ {2}patch_size=4,4$/m);
    expect(out).toMatch(/^ {2}window_size=4,4 {2}\(default 7,7\)$/m);
    expect(out).toMatch(/^ {2}image_size=32 {2}\(default 224,224\)$/m);
    // torchvision counts vit_b_16 at 17.56 GFLOPS of multiply-adds: twice that in FLOPs
    const vit = await summary('vit_b_16');
    expect(vit).toMatch(/^FLOPs: 35\.\d\dG\*B \(a multiply-add counts 2; torchvision's "GFLOPS" count multiply-adds, half of this\)$/m);
    const json = JSON.parse((await runCli(['summary', 'vit_b_16', '--json'])).out!);
    expect(json.flops).toMatch(/^35\d{9}\*B$/);
  }, 60_000);

  it("takes Swin's image_size and patch_size as (h,w) or one number, as the models README says", async () => {
    expect(await summary('swin_t', '--config', ...SMALL_SWIN, 'window_size=4,4', 'image_size=32,48')).toMatch(/image: f32\[B, 3, 32, 48\]/);
    const one = await summary('swin_t', '--config', ...SMALL_SWIN, 'window_size=4', 'patch_size=4', 'image_size=32');
    const two = await summary('swin_t', '--config', ...SMALL_SWIN, 'window_size=4,4', 'patch_size=4,4', 'image_size=32,32');
    const params = (out: string) => /^parameters: (.*)$/m.exec(out)![1];
    expect(params(one)).toBe(params(two));
    expect(one).toMatch(/image: f32\[B, 3, 32, 32\]/);
    expect(await userErrorOf(['summary', 'swin_t', '--config', 'patch_size=4,4,4'])).toMatch(/patch_size takes two numbers \(h,w\) or one, got 4,4,4/);
  });

  it('refuses a Swin window larger than the first feature map (torchvision would pad every map up to it) before building the window tensors', async () => {
    expect(await userErrorOf(['summary', 'swin_t', '--config', 'image_size=64', 'window_size=64,64'])).toMatch(
      /window_size 64x64 is larger than the first stage's 16x16 feature map \(image 64x64 in 4x4 patches\); give a window of at most 16x16/,
    );
  }, 10_000);
});
